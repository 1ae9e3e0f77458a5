"""Reading a model file's ``.npz`` archive with bounded memory.

A ``.npz`` file is a zip archive of ``.npy`` members. A zip member can declare any
size, and a compressed one can expand a thousandfold, so nothing is decompressed before
it is known to be needed and of the right size:

1. every member is named as barenet names them (``__meta__``, ``param/<key>``,
   ``best/<key>``, ``optim/<key>/<name>``, each ``.npy``); any other is refused;
2. each member's ``.npy`` header (at most ``MAX_HEADER_BYTES``) gives its shape and
   dtype; the zip's declared size must be exactly that header plus that array;
3. the declared sizes together are at most ``FREE_BYTES`` plus ``EXPANSION`` times the
   file's size (barenet writes its arrays uncompressed: its own files expand by 1);
4. the description (``__meta__``) is read first, at most ``MAX_META_BYTES`` or the
   file's size (as NumPy stores text, 4 bytes a character);
5. the caller (``barenet.io.persistence.read``) compares the other members' shapes and
   dtypes with those the record's layers compute from their configurations
   (``barenet.io.file_checks.check_stored``), before any layer is built; only then is
   each read, streamed into an array of its declared size (``read_array``); zip stops
   each stream at its declared size and checks its CRC.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile

import numpy as np

from barenet.errors import ModelFileError

MAX_HEADER_BYTES = 65_536  # an .npy header of barenet's is under 200 bytes
MAX_META_BYTES = 16 * 2**20  # the description of a compressed file (else: the file's size)
FREE_BYTES = 32 * 2**20  # declared bytes any file may hold, however small
EXPANSION = 2  # and beyond them, at most this many times the file's own size
CHUNK = 2**20  # bytes decompressed at a time
MEMBER = re.compile(r"^(__meta__|param/[0-9]+\.\w+|best/[0-9]+\.\w+|optim/[0-9]+\.\w+/\w+)\.npy$")


class Member:
    """One ``.npy`` member of the archive: its key, zip entry, shape and dtype."""

    def __init__(self, key, info, shape, dtype, fortran, header_bytes) -> None:
        self.key, self.info, self.shape, self.dtype = key, info, tuple(shape), dtype
        self.fortran, self.header_bytes = fortran, header_bytes
        self.data_bytes = math.prod(self.shape) * dtype.itemsize


def open_archive(path) -> zipfile.ZipFile:
    """The zip archive of ``path``, or a ``ModelFileError``."""
    try:
        return zipfile.ZipFile(path)
    # NotImplementedError: a zip version (or feature) Python cannot read, as a damaged
    # file's directory may declare
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise ModelFileError(
            f"{path}: not a readable barenet model file ({type(error).__name__}: {error})"
        ) from None


def members(archive: zipfile.ZipFile, path, file_size: int) -> dict[str, Member]:
    """Every member, checked by steps 1 to 3 (see the module), keyed by array name."""
    if "__meta__.npy" not in archive.namelist():
        raise ModelFileError(f"{path}: not a barenet model file (no description inside)")
    found = {}
    for info in archive.infolist():
        match = MEMBER.match(info.filename)
        if match is None or match.group(1) in found:
            what = "a repeated member" if match else "an unknown member"
            raise ModelFileError(
                f"{path}: {what} {info.filename!r}: a barenet model file holds only "
                "__meta__ and its parameters (param/, best/, optim/); the file was not "
                "written by barenet or was altered"
            )
        found[match.group(1)] = _header(archive, info, match.group(1), path)
    declared = sum(m.info.file_size for m in found.values())
    allowed = FREE_BYTES + EXPANSION * file_size
    if declared > allowed:
        largest = max(found.values(), key=lambda m: m.info.file_size)
        raise ModelFileError(
            f"{path}: its members would decompress to {declared:,} bytes from a file of "
            f"{file_size:,} (largest: {largest.info.filename!r}, {largest.info.file_size:,} "
            f"bytes); barenet reads at most {FREE_BYTES:,} plus {EXPANSION} times the file's "
            "size (it writes arrays uncompressed): the file is not barenet's"
        )
    return found


def _header(archive, info, key: str, path) -> Member:
    """The member's shape and dtype from its ``.npy`` header, read with a small cap."""
    where = f"{path}: member {info.filename!r}"
    try:
        with archive.open(info) as stream:
            start = stream.read(12)
            if len(start) < 10 or start[:6] != b"\x93NUMPY":
                raise ModelFileError(f"{where} is not a NumPy array")
            major = start[6]
            if major == 1:
                length, fixed = struct.unpack("<H", start[8:10])[0], 10
            else:
                length, fixed = struct.unpack("<I", start[8:12])[0], 12
            if length > MAX_HEADER_BYTES:
                raise ModelFileError(
                    f"{where}: its array header claims {length:,} bytes (at most "
                    f"{MAX_HEADER_BYTES:,})"
                )
            head = start + stream.read(fixed + length - len(start))
        reader = io.BytesIO(head)
        version = np.lib.format.read_magic(reader)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(reader)
    except ModelFileError:
        raise
    except Exception as error:  # zlib.error, ValueError of a damaged header, ...
        raise ModelFileError(f"{where}: corrupt ({type(error).__name__}: {error})") from None
    if dtype.hasobject or dtype.kind not in "fiubU" or (key == "__meta__") != (dtype.kind == "U"):
        raise ModelFileError(f"{where}: an array of {dtype}, which barenet never stores there")
    member = Member(key, info, shape, dtype, fortran, fixed + length)
    if member.header_bytes + member.data_bytes != info.file_size:
        raise ModelFileError(
            f"{where}: its header claims shape {member.shape} "
            f"({member.header_bytes + member.data_bytes:,} bytes with the header) but the "
            f"archive declares {info.file_size:,} bytes for it: "
            "the file is damaged or not barenet's"
        )
    return member


def read_meta(archive, found: dict[str, Member], path, file_size: int) -> dict:
    """The description (``__meta__``), read with its own cap: ``MAX_META_BYTES``, or the
    file's size if larger (a description barenet wrote is stored uncompressed)."""
    meta = found.get("__meta__")
    if meta is None:
        raise ModelFileError(f"{path}: not a barenet model file (no description inside)")
    cap = max(MAX_META_BYTES, file_size)
    if meta.shape != () or meta.data_bytes > cap:
        raise ModelFileError(
            f"{path}: member '__meta__.npy' (the description) holds {meta.data_bytes:,} bytes "
            f"of shape {meta.shape}; a description is one text of at most {cap:,} bytes "
            "(16 MiB, or the file's size)"
        )
    text = read_array(archive, meta, path)[()]
    try:
        return json.loads(str(text))
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path}: the model description is corrupt ({error})") from None


def read_array(archive, member: Member, path, into: np.ndarray | None = None) -> np.ndarray:
    """One member's array, streamed ``CHUNK`` bytes at a time into its declared size:
    into ``into`` (returned) if it is a C-ordered array of the member's shape and dtype
    (a built layer's parameter: no second copy), else into a new array."""
    if into is not None and _fits(into, member):
        _stream(archive, member, path, memoryview(into.reshape(-1)).cast("B"))
        return into
    flat = np.empty(math.prod(member.shape), dtype=member.dtype)
    _stream(archive, member, path, memoryview(flat).cast("B"))
    return flat.reshape(member.shape, order="F" if member.fortran else "C")


def _fits(array: np.ndarray, member: Member) -> bool:
    return (
        not member.fortran
        and array.shape == member.shape
        and array.dtype == member.dtype
        and array.flags.c_contiguous
        and array.flags.writeable
    )


def _stream(archive, member: Member, path, view: memoryview) -> None:
    """Decompress the member's data into ``view`` (its ``data_bytes`` bytes)."""
    try:
        with archive.open(member.info) as stream:
            stream.read(member.header_bytes)
            done = 0
            while done < member.data_bytes:
                got = stream.readinto(view[done : done + CHUNK])
                if not got:
                    break
                done += got
    except Exception as error:  # zlib.error, BadZipFile (bad CRC), ...
        raise ModelFileError(
            f"{path}: member {member.info.filename!r} is corrupt ({type(error).__name__}: {error})"
        ) from None
    if done < member.data_bytes:
        raise ModelFileError(
            f"{path}: member {member.info.filename!r} ends after {done:,} of its "
            f"{member.data_bytes:,} bytes: the file is truncated or damaged"
        )
