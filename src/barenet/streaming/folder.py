"""A folder or glob read as carefully as one file.

- ``dataset_files`` finds the data files of a folder (recursively) or a glob (``**``
  included), following symbolic links to folders but entering each real folder once
  per step of the pattern: a link loop (``loop -> .``) is neither followed twice nor
  hung on, and each file is listed once however many links reach it (by its resolved
  path). A link to a file or folder outside the folder named (a glob's folder: the part
  before its first wildcard), such as ``up -> ..``, is refused by name
  (``check_inside``): what the user did not name is never read as training data. A
  link to nothing named as a data file is refused by name too (``check_not_dangling``).
- ``csv_block_size`` is a block size for pyarrow's CSV reader that holds the file's
  longest line, so a cell over 1 MB is read, not refused ("straddling object").
- ``BadRows`` is Arrow's handler of a CSV row with the wrong number of fields, as
  ``--bad-rows`` says: an error naming the file and data row, or the row left out and
  counted per file (as ``barenet.tables.reading.scan_records`` does for one file).
- ``check_batch_numbers`` names the file, column and data row of an infinite number or
  one too large to scale, as ``barenet.tables.reading.check_finite`` does for one file.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import numpy as np

from barenet.errors import DataError

GLOB_CHARS = "*?["
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
HIDDEN = ("_", ".")  # _SUCCESS, _metadata, .crc files written by Spark and Dask
MIN_BLOCK = 1 << 20  # pyarrow's default CSV block size
SCAN_CHUNK = 1 << 24


def is_dataset_path(path) -> bool:
    """Whether ``--data`` names a folder or a glob (the streaming path), not one file."""
    text = str(path)
    return Path(text).is_dir() or any(c in text for c in GLOB_CHARS)


def _entries(folder: Path):
    """``(path, is_dir, is_file)`` of each entry of ``folder`` (links followed)."""
    try:
        with os.scandir(folder) as scan:
            names = sorted(entry.name for entry in scan)
    except OSError:  # unreadable, or a dangling link: nothing to read there
        return
    for name in names:
        path = folder / name
        yield path, path.is_dir(), path.is_file()


def check_inside(path: Path, base: Path) -> None:
    """A ``DataError`` naming ``path`` (a link, or a path through one) when it resolves
    outside the folder ``base`` (resolved too)."""
    real, root = os.path.realpath(path), os.path.realpath(base)
    if os.path.commonpath([real, root]) != root:
        raise DataError(
            f"{path} is a link to {real}, outside {base}: only what is inside the folder "
            "given to --data is read; remove the link, or give the folder holding the files"
        )


def check_not_dangling(path: Path) -> None:
    """A ``DataError`` naming ``path`` when it is a link to nothing (its target was moved
    or deleted) that may have held rows: named as a data file (``.csv``, ``.parquet``)
    or with no suffix at all, as a folder (``year=2024``) is; its rows would be left
    out without a word. A link named ``notes.txt`` is left alone, as any other file."""
    if not path.is_symlink() or path.exists() or path.name.startswith(HIDDEN):
        return
    target = os.readlink(path)
    kinds = {Path(path.name).suffix.lower(), Path(target).suffix.lower()}
    if kinds & {*SUFFIXES, ""}:
        raise DataError(
            f"{path} is a link to {target}, which does not exist: its rows cannot be read; "
            "restore the file, or remove the link"
        )


def _walk(base: Path, rest: tuple[str, ...]) -> list[Path]:
    """The files under ``base`` matching the pattern parts ``rest`` (``**`` is any
    number of folders). Each ``(real folder, step)`` is expanded once, so links to
    folders are followed but never in a loop; a link to a folder outside ``base`` is a
    ``DataError`` (``check_inside``), and a folder named ``_...`` or ``.``, whose files are
    never read, is not entered."""
    found, seen, stack = [], set(), [(base, 0)]

    def enter(path: Path, step: int) -> None:
        if not path.name.startswith(HIDDEN):
            if path.is_symlink():
                check_inside(path, base)
            stack.append((path, step))

    while stack:
        folder, step = stack.pop()
        key = (os.path.realpath(folder), step)
        if key in seen or step >= len(rest):
            continue
        seen.add(key)
        part, last = rest[step], step == len(rest) - 1
        if part == "**":
            stack.append((folder, step + 1))
            for path, is_dir, is_file in _entries(folder):
                if is_dir:
                    enter(path, step)
                elif is_file and last and not path.name.startswith("."):
                    found.append(path)
                elif not is_file and last:
                    check_not_dangling(path)
            continue
        for path, is_dir, is_file in _entries(folder):
            if path.name.startswith(".") and not part.startswith("."):
                continue
            if not fnmatch.fnmatchcase(path.name, part):
                continue
            if last and is_file:
                found.append(path)
            elif not last and is_dir:
                enter(path, step + 1)
            elif last and not is_dir:
                check_not_dangling(path)
    return found


def dataset_files(path) -> tuple[list[Path], Path]:
    """``(files, base)``: the data files of a folder (recursively) or a glob, sorted,
    each once (by resolved path), and the folder Hive partition keys are read below."""
    text = str(path)
    if Path(text).is_dir():
        base = Path(text)
        found = _walk(base, ("**", "*"))
    else:
        parts = Path(text).parts
        first = next(i for i, p in enumerate(parts) if any(c in p for c in GLOB_CHARS))
        base = Path(*parts[:first]) if first else Path(".")
        found = _walk(base, tuple(parts[first:]))
    files, resolved = [], set()
    for p in sorted(found):
        if any(part.startswith(HIDDEN) for part in p.relative_to(base).parts):
            continue
        if p.suffix.lower() not in SUFFIXES:
            continue
        check_inside(p, base)  # a link to a file elsewhere
        real = p.resolve()
        if real not in resolved:
            resolved.add(real)
            files.append(p)
    if not files:
        what = "a folder" if Path(text).is_dir() else "a pattern"
        raise DataError(
            f"{path} is {what} with no .parquet or .csv files: give a CSV or Parquet file, "
            "or a folder or glob of them"
        )
    return files, base


SKIP_ADVICE = "fix the row, or give --bad-rows skip to leave such rows out"


class BadRows:
    """Arrow's CSV ``invalid_row_handler`` for ``--bad-rows`` (``"error"`` or ``"skip"``).

    ``file`` is set to the file about to be read. With ``"error"``, the first row of the
    wrong width stops the read and ``message`` names it; with ``"skip"``, it is left out
    and recorded per file (once, however many times the file is read: every epoch), and
    ``notices`` count them as a file's reader does. ``fix`` ends the error: what to do
    (``SKIP_ADVICE``, or where ``--bad-rows skip`` is refused, what works there)."""

    def __init__(self, mode: str, fix: str = SKIP_ADVICE) -> None:
        from barenet.tables.reading import BAD_ROWS

        if mode not in BAD_ROWS:
            raise DataError(f"--bad-rows must be one of {BAD_ROWS}, got {mode!r}")
        self.mode, self.file, self.first, self.fix = mode, None, None, fix
        self.skipped: dict = {}  # file -> {Arrow's row number (or text): 1-based data row}

    def __call__(self, row) -> str:
        data_row = None if row.number is None else row.number - 1  # the header is row 1
        if self.mode == "skip":
            key = row.number if row.number is not None else row.text
            self.skipped.setdefault(self.file, {})[key] = data_row
            return "skip"
        self.first = (self.file, data_row, row.actual_columns, row.expected_columns)
        return "error"

    def message(self) -> str | None:
        """The error for the row that stopped the read (``"error"``), else None."""
        if self.first is None:
            return None
        path, data_row, fields, header = self.first
        self.first = None
        where = f", data row {data_row}" if data_row is not None else ""
        how = "too few" if fields < header else "too many"
        return f"{path}{where}: {how} fields ({fields}, the header has {header}); {self.fix}"

    def notices(self) -> list[str]:
        """One line per file with rows left out: how many, and their data rows."""
        said = []
        for path, rows in self.skipped.items():
            numbers = sorted(n for n in rows.values() if n is not None)
            shown = ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
            where = f" (data row{'s' * (len(numbers) > 1)} {shown})" if shown else ""
            count = f"{len(rows)} row{'s' * (len(rows) != 1)}"
            said.append(f"skipped {count} of {path} with the wrong number of fields{where}")
        return said


def check_not_empty(files, kind: str) -> None:
    """A ``DataError`` naming the first of ``files`` that is empty (0 bytes, or only
    blank lines), which Arrow cannot read ("Empty CSV file or block")."""
    for path in files:
        size = path.stat().st_size
        if size == 0 or (size < 64 and not path.read_bytes().strip()):
            fix = (
                "remove it, or give it the other files' header line"
                if kind == "csv"
                else "remove it"
            )
            raise DataError(f"{path}: the file is empty (no header, no rows): {fix}")


def longest_line(path: Path) -> int:
    """The length in bytes of the longest line of ``path`` (read in chunks)."""
    longest, current = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(SCAN_CHUNK):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            if len(ends) == 0:
                current += len(chunk)
                continue
            longest = max(longest, current + int(ends[0]) + 1)
            if len(ends) > 1:
                longest = max(longest, int(np.diff(ends).max()))
            current = len(chunk) - int(ends[-1]) - 1
    return max(longest, current)


def csv_block_size(files) -> int:
    """A pyarrow CSV block size (bytes) holding four times the longest line of any of
    ``files`` (room for a text encoding's wider characters), at least 1 MB (pyarrow's
    default, so batches are the same as before unless a line needs more). A file too
    small to hold a line of a quarter of that is not read."""
    small = MIN_BLOCK // 4
    need = max((longest_line(p) for p in files if p.stat().st_size > small), default=0)
    size = MIN_BLOCK
    while size < 4 * need:
        size *= 2
    return size


def check_batch_numbers(batch, where, first_row: int = 0) -> None:
    """A ``DataError`` naming ``where`` (the file), the column and the 1-based data row of
    the first infinite number in ``batch`` (an Arrow batch read as float64 numbers), or
    of one too large to scale (beyond ``reading.MAX_ABS_VALUE``). NaN is a missing value."""
    import pyarrow as pa

    from barenet.tables.reading import MAX_ABS_VALUE, describe_bad_number

    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not pa.types.is_floating(column.type):
            continue
        values = column.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(np.abs(values) > MAX_ABS_VALUE)
        if len(bad):
            what = describe_bad_number(name, first_row + int(bad[0]), float(values[bad[0]]))
            raise DataError(f"{where}: {what}")


def first_non_number(path, name: str, parse, decimal=None) -> str | None:
    """Where column ``name`` of the CSV file ``path`` first holds a value that is not a
    number: ``"data row 601: 'hello'"`` (1-based data rows), or None if none is found
    or the file cannot be read again. ``parse`` is ``(read_options, parse_options)`` as
    the folder reads it; the file is read in blocks, one column, up to that value."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    convert = pcsv.ConvertOptions(
        include_columns=[name], column_types={name: pa.string()}, strings_can_be_null=True
    )
    row = 0
    try:
        with pcsv.open_csv(
            path, read_options=parse[0], parse_options=parse[1], convert_options=convert
        ) as reader:
            for batch in reader:
                text = batch.column(0).to_pandas()
                values = text.str.strip().str.replace(decimal, ".") if decimal else text
                numbers = pd.to_numeric(values, errors="coerce")
                bad = np.flatnonzero(numbers.isna().to_numpy() & text.notna().to_numpy())
                if len(bad):
                    return f"data row {row + int(bad[0]) + 1}: {text.iloc[bad[0]]!r}"
                row += batch.num_rows
    except Exception:
        return None
    return None


def not_a_number(path, name: str, bad: str, where) -> str:
    """The message for the value ``bad`` (``"data row 601: 'hello'"``) of column ``name``
    of ``path``, a column read as numbers (as it is in ``where``)."""
    return (
        f"{path}: column {name!r}, {bad} is not a number, but the column holds numbers in "
        f"{where}: correct that value, or leave the cell empty if it is missing (a column "
        "has one type in every row of every file)"
    )


def conversion_failure(path, error, names, parse, decimal=None) -> str | None:
    """For Arrow's "In CSV column #1: ... CSV conversion error to double" reading the CSV
    file ``path`` (columns ``names``, in the file's order): the message naming the
    column, data row and value (``not_a_number``), or None if it is another error."""
    import re

    found = re.search(r"CSV column #(\d+).*conversion error to (double|float|int)", str(error))
    if not found or int(found.group(1)) >= len(names):
        return None
    name = names[int(found.group(1))]
    bad = first_non_number(path, name, parse, decimal)
    return None if bad is None else not_a_number(path, name, bad, "the rows before it")


def parquet_damage(path) -> str | None:
    """Where a Parquet file that failed to read is damaged: ``"column 'x', data rows
    201-400"`` (the first column chunk that does not decode), or None if none fails
    alone (the damage is elsewhere, such as the footer)."""
    import pyarrow.parquet as pq

    try:
        meta_file = pq.ParquetFile(path)
        first = 1
        for group in range(meta_file.num_row_groups):
            rows = meta_file.metadata.row_group(group).num_rows
            for name in meta_file.schema_arrow.names:
                try:
                    meta_file.read_row_group(group, columns=[name])
                except Exception:
                    return f"column {name!r}, data rows {first}-{first + rows - 1}"
            first += rows
    except Exception:
        return None
    return None


def has_links(folder) -> bool:
    """Whether any entry under ``folder`` is a symbolic link (links not followed)."""
    for root, dirs, files in os.walk(folder):
        if any(os.path.islink(os.path.join(root, name)) for name in dirs + files):
            return True
    return False
