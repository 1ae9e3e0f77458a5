"""A CSV file's text encoding, when ``--encoding`` is not given: the one its byte-order
mark names (UTF-8, UTF-16, UTF-32), UTF-16 without a mark when every other byte of its
start is NUL (as spreadsheet programs write "Unicode text"), else UTF-8; and the advice
for a file that is not in the encoding it is read with."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

from barenet.errors import DataError

BOMS = (  # longest first: UTF-32's little-endian mark starts with UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
DEFAULT = "utf-8-sig"  # UTF-8, with or without a byte-order mark
_OPENERS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}


def head(path: Path, kind: str, size: int = 4096) -> bytes:
    """The first ``size`` bytes of a file's text, decompressed for ``kind`` (a kind of
    ``barenet.tables.reading.file_kind``); b"" if they cannot be read."""
    try:
        if kind in _OPENERS:
            with _OPENERS[kind](path, "rb") as f:
                return f.read(size)
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = [name for name in archive.namelist() if not name.endswith("/")]
                with archive.open(names[0]) as f:
                    return f.read(size)
        with open(path, "rb") as f:
            return f.read(size)
    except (OSError, EOFError, IndexError, zipfile.BadZipFile, lzma.LZMAError):
        return b""  # a damaged file: the reader names the problem


def sniff_encoding(path: Path, kind: str) -> str:
    """The encoding of a CSV file's text (see the module docstring)."""
    start = head(path, kind)
    for bom, name in BOMS:
        if start.startswith(bom):
            return name
    even, odd = start[0::2], start[1::2]
    if len(odd) >= 8:
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return DEFAULT


def is_utf16_or_32(encoding: str) -> bool:
    return encoding.lower().replace("_", "-").startswith(("utf-16", "utf16", "utf-32", "utf32"))


def check_given_encoding(path: Path, kind: str, encoding: str) -> str | None:
    """The error message for ``--encoding`` that cannot read the file: a UTF-16 or
    UTF-32 file (by its byte-order mark or its NUL bytes) read as a one-byte encoding,
    which would give text full of NUL characters; None if it may be right."""
    found = sniff_encoding(path, kind)
    if found != DEFAULT and is_utf16_or_32(found) and not is_utf16_or_32(encoding):
        return (
            f"{path}: the file is {found.upper()} text, not {encoding}: give --encoding "
            f"{found}, or leave --encoding out to detect it"
        )
    return None


def choose_encoding(path: Path, kind: str, encoding: str | None) -> str:
    """``encoding`` if given (a ``DataError`` if the file is UTF-16 or UTF-32 and it is
    a one-byte encoding), else the one ``sniff_encoding`` finds."""
    if encoding is None:
        return sniff_encoding(path, kind)
    message = check_given_encoding(path, kind, encoding)
    if message:
        raise DataError(message)
    return encoding


def decode_advice(path: Path, kind: str, encoding: str) -> str:
    """The advice for a file that is not ``encoding`` text."""
    found = sniff_encoding(path, kind)
    if found != DEFAULT and found != encoding:
        return f"give --encoding {found}"
    return "give its encoding, e.g. --encoding cp1252 (Windows) or --encoding latin-1"
