"""The careful parts of reading a table file, used by ``barenet.tables.columns.read_table``.

- the file's real kind, by suffix or by its first bytes: plain or compressed CSV
  (``.gz``, ``.bz2``, ``.xz``, ``.zip``, read as pandas reads them), Parquet, or an
  Excel workbook (read if ``openpyxl`` is installed, else "save it as CSV");
- the header's names: a name repeated (also once spaces are stripped) is an error;
- ragged rows: a row with too few or too many fields is an error naming its line,
  or, with ``bad_rows="skip"``, left out and counted;
- numbers written as text: ``12%`` and ``$1,200`` columns become numbers (with a
  notice); ``inf`` and numbers too large to scale are errors naming column and row, and
  so are integers so large (``uint64`` near 9e18) that float64 merges different values.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

from barenet.errors import DataError

BAD_ROWS = ("error", "skip")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"PAR1": "parquet",
    b"\xd0\xcf\x11\xe0": "excel",  # an old .xls (OLE) workbook
}
SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".parquet": "parquet"}
#: the largest magnitude a table's number may have: differences of two such numbers
#: (a value minus its column's mean) still fit in float64.
MAX_ABS_VALUE = 1e300


def file_kind(path: Path) -> str:
    """``"csv"``, ``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"``, ``"parquet"`` or
    ``"excel"``: by the suffix, else by the first bytes (a compressed file named
    ``.csv``)."""
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    with open(path, "rb") as f:
        head = f.read(8)
    kind = SUFFIXES.get(suffix) or next(
        (kind for magic, kind in MAGIC.items() if head.startswith(magic)), "csv"
    )
    if kind == "zip" and _is_workbook(path):
        return "excel"
    return kind


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith(("xl/", "content.xml")) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def read_excel(path: Path):
    """An Excel workbook's first sheet, if openpyxl is installed; else a ``DataError``
    with the advice to save it as CSV or Parquet."""
    import pandas as pd

    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise DataError(
            f"{path}: an Excel workbook; barenet reads CSV and Parquet files: save it as CSV "
            "(or Parquet) from your spreadsheet program, or pip install openpyxl to read it"
        ) from None
    try:
        return pd.read_excel(path)
    except Exception as error:
        raise DataError(
            f"{path}: not a readable Excel workbook ({type(error).__name__}); save it as CSV"
        ) from None


def open_text(path: Path, kind: str, encoding: str):
    """The file's text, decompressed as pandas does for the same kind."""
    try:
        if kind == "gzip":
            return gzip.open(path, "rt", encoding=encoding, newline="")
        if kind == "bz2":
            return bz2.open(path, "rt", encoding=encoding, newline="")
        if kind == "xz":
            return lzma.open(path, "rt", encoding=encoding, newline="")
        if kind == "zip":
            archive = zipfile.ZipFile(path)
            names = [name for name in archive.namelist() if not name.endswith("/")]
            if len(names) != 1:
                raise DataError(
                    f"{path}: a zip archive must hold exactly one CSV file, it holds {len(names)}"
                )
            return io.TextIOWrapper(archive.open(names[0]), encoding=encoding, newline="")
        return open(path, encoding=encoding, newline="")
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as error:
        raise DataError(f"{path}: a damaged {kind} file ({type(error).__name__})") from None


def compression(kind: str):
    """pandas' ``compression`` argument for a kind of ``file_kind``."""
    return None if kind == "csv" else kind


def scan_records(path: Path, kind: str, encoding: str, sep: str, bad_rows: str):
    """``(header, skip)``: the header's names as written, and the 0-based physical lines
    of rows to leave out (``bad_rows="skip"``). A row with a different number of fields
    from the header is a ``DataError`` naming its line (with ``bad_rows="error"``)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long cells are data, not errors
    with open_text(path, kind, encoding) as text:  # the quick pass: are all rows alike?
        content = text.read()
    lines = [line for line in content.splitlines() if line.strip()]
    if lines and '"' not in content:  # no quoting: a field per separator, plus one
        header = next(csv.reader(lines[:1], delimiter=sep, skipinitialspace=True))
        if all(line.count(sep) == len(header) - 1 for line in lines):
            return header, [], []
    else:
        reader = csv.reader(io.StringIO(content), delimiter=sep, skipinitialspace=True)
        header = next((record for record in reader if record), [])
        if set(map(len, reader)) <= {0, len(header)}:
            return header, [], []
    del content, lines
    header, skip, bad = None, [], []
    with open_text(path, kind, encoding) as text:  # the careful pass, with line numbers
        reader = csv.reader(text, delimiter=sep, skipinitialspace=True)
        first_line = 0
        for record in reader:
            start, first_line = first_line, reader.line_num
            if not record:  # a blank line: pandas skips it too
                continue
            if header is None:
                header = record
                continue
            if len(record) != len(header):
                if bad_rows == "error":
                    how = "too few" if len(record) < len(header) else "too many"
                    raise DataError(
                        f"{path}, line {start + 1}: {how} fields ({len(record)}, the header has "
                        f"{len(header)}); fix the row, or give --bad-rows skip to leave such "
                        "rows out"
                    )
                bad.append(start + 1)
                skip.extend(range(start, reader.line_num))
    return header or [], skip, bad


def check_names(names, path) -> None:
    """A ``DataError`` naming a column name that is repeated, also once the spaces
    around it are stripped (``x1`` and ``"x1 "``)."""
    seen = {}
    for name in names:
        key = str(name).replace("\ufeff", "").strip()
        if key in seen:
            if seen[key] == name == key:
                what = f"the column name {key!r} appears twice in the header"
            else:
                what = f"the column names {seen[key]!r} and {name!r} are the same name"
            raise DataError(
                f"{path}: {what} (names are compared without surrounding spaces); rename one"
            )
        seen[key] = name


_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_PERCENT = re.compile(rf"^([-+]?)\s*({_NUMBER})\s*%$")
_CURRENCY = re.compile(rf"^([-+]?)\s*[$€£¥]\s*({_NUMBER})$|^([-+]?)\s*({_NUMBER})\s*[$€£¥]$")
_GROUPED = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})*(\.\d+)?\s*$")  # 25,835 or 835


def _parse(pattern, texts):
    """The numbers of ``texts`` if every one matches ``pattern`` (else None)."""
    values = np.empty(len(texts))
    for i, text in enumerate(texts):
        match = pattern.match(text.strip())
        if match is None:
            return None
        groups = [g for g in match.groups() if g is not None]
        sign, number = (groups[0], groups[1]) if len(groups) == 2 else ("", groups[0])
        values[i] = float(sign + number.replace(",", ""))
    return values


def numbers_written_as_text(frame, notices, path, skip=()) -> None:
    """Columns of percentages (``12%``) or amounts (``$1,200``, ``5 €``) become numbers
    in place (12 and 1200), with a notice each; other columns (and those in ``skip``,
    read as written) are left alone."""
    import pandas as pd

    for name in frame.columns:
        if name in skip:
            continue
        column = frame[name]
        if column.dtype.kind != "O":
            continue
        present = column.dropna()
        if not len(present) or not all(isinstance(v, str) for v in present):
            continue
        texts = present.tolist()
        for pattern, what in ((_PERCENT, "percentages"), (_CURRENCY, "amounts of money")):
            values = _parse(pattern, texts)
            if values is not None:
                numbers = pd.Series(np.nan, index=column.index)
                numbers[present.index] = values
                frame[name] = numbers
                if notices is not None:
                    notices.append(
                        f"read column {name!r} of {path.name} as numbers: {what} such as "
                        f"{texts[0]!r} -> {values[0]:g}"
                    )
                break


def thousands_advice(name, present) -> str | None:
    """Advice for a text column of numbers with thousands separators (``25,835``)."""
    if len(present) and present.str.contains(",").any() and present.str.match(_GROUPED).all():
        return (
            f"column {name!r} holds numbers written with a thousands separator, such as "
            f"{present.iloc[0]!r}: give --thousands , (or --decimal , if the comma is a "
            "decimal mark)"
        )
    return None


def check_finite(frame, path, skip=(), written=None) -> None:
    """A ``DataError`` naming the column and the 1-based data row of the first infinite
    value, or of a number too large to scale (beyond ``MAX_ABS_VALUE``), in a numeric
    column not in ``skip``; ``written`` (a DataFrame of text, optional) holds cells as
    written in the file, to name ``1e400`` as such rather than as ``inf``."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind not in "iuf" or name in skip:
            continue
        values = column.to_numpy(np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isinf(values) | (np.abs(np.nan_to_num(values)) > MAX_ABS_VALUE))
        if len(bad):
            cell = written[name].iloc[bad[0]] if written is not None and name in written else None
            raise DataError(f"{path}: {describe_bad_number(name, bad[0], values[bad[0]], cell)}")
        if column.dtype.kind in "iu":
            check_exact_integers(column, name, values, path)


def check_exact_integers(column, name, values: np.ndarray, path) -> None:
    """A ``DataError`` for a column of integers so large (beyond 2**53) that different
    values become the same float64 number, which barenet computes with: its
    differences would be lost, and a model would learn from rounding."""
    present = column.dropna()
    if not len(present) or np.abs(values[~np.isnan(values)]).max() <= 2.0**53:
        return
    distinct, kept = present.nunique(), len(np.unique(values[~np.isnan(values)]))
    if kept < distinct:
        raise DataError(
            f"{path}: column {name!r} holds integers as large as {np.nanmax(np.abs(values)):.3g}"
            f", too large to compute with exactly ({distinct} different values become {kept} "
            "in float64, exact up to 2**53 = 9.0e15): if it is an identifier, leave it out "
            f"with --drop {name}; if it is a quantity, subtract an offset or change its unit "
            "in the file"
        )


def describe_bad_number(name, position: int, value: float, written=None) -> str:
    """The message for a value that is not a usable finite number; ``written`` is the
    cell as written in the file, when known (``'1e400'``, which float64 reads as inf)."""
    where = f"column {name!r}, data row {position + 1}"
    text = str(written).strip() if isinstance(written, str) else None
    if text and np.isinf(value) and text.lstrip("+-").lower() not in ("inf", "infinity"):
        return (
            f"{where}: {text!r} overflows float64, whose largest number is about 1.8e308 "
            f"(barenet reads numbers up to {MAX_ABS_VALUE:g} in size): change its unit in the "
            "file, or leave the cell empty if the value is missing"
        )
    what = (
        "is not a finite number (a missing value must be an empty cell)"
        if not np.isfinite(value)
        else f"is too large (barenet reads numbers up to {MAX_ABS_VALUE:g} in size)"
    )
    return f"{where}: {float(value)!r} {what}"
