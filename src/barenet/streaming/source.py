"""Tables larger than memory: a folder or glob of Parquet or CSV files read as a stream
of record batches (``pyarrow.dataset``), never whole.

- ``TableStream`` opens the files (a Hive-partitioned folder included: ``key=value``
  folders become columns), checks every file's schema against the first one's before
  any training, and yields ``(file_index, first_row, batch)`` one batch at a time.
  An unreadable file, a column missing from a file, or a column whose kind (number,
  text, true/false) changes between files is a ``DataError`` naming the file.
- ``split_of`` assigns each row to training, validation or test by a deterministic hash
  of its key: the file's path and the row's number in it, or the values of a key
  column (``--split-key``). A row never moves between splits, from one epoch or one run
  to the next. Once ``TableStream.target`` is set, a row whose target is blank is in
  no split (left out, as a file's are).

Numbers are read as float64 whatever their type in each file (an integer column in one
file may hold decimals in another), a column of 64-bit integers after the file's check
that its different values stay different (``barenet.tables.reading.check_exact_integers``,
batch by batch); text is read as strings; Parquet timestamps and dates as UTC
timestamps in microseconds (a time without a zone is read as UTC, as for a file), and
dates in CSV files as text, which barenet reads as it reads a file's.
"""

from __future__ import annotations

import csv
import os
import zlib
from pathlib import Path

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.folder import (  # noqa: F401 (GLOB_CHARS, is_dataset_path: public here)
    GLOB_CHARS,
    SUFFIXES,
    BadRows,
    check_batch_numbers,
    check_not_empty,
    conversion_failure,
    csv_block_size,
    dataset_files,
    first_non_number,
    is_dataset_path,
    not_a_number,
    parquet_damage,
)


def _system_allocator_under_limits() -> None:
    """Under an address-space limit (``prlimit --as``, ``ulimit -v``), Arrow's default
    allocator (jemalloc) reserves address space in large runs and then fails or spends
    most of its time in the kernel (a 30-fold slower read here); the system allocator
    does not. Arrow reads the choice once, when it first allocates: so this is set when
    barenet's command line starts, unless the user chose (``ARROW_DEFAULT_MEMORY_POOL``)."""
    import resource

    if resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


_system_allocator_under_limits()

BATCH_ROWS = 65536  # rows per record batch read


def _kind(arrow_type) -> str:
    """``number``, ``text``, ``bool``, ``date`` (a timestamp or a date) or ``other`` for an
    Arrow type."""
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        return _kind(arrow_type.value_type)
    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "number"
    if t.is_boolean(arrow_type):
        return "bool"
    if t.is_timestamp(arrow_type) or t.is_date(arrow_type):
        return "date"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "text"
    if t.is_null(arrow_type):
        return "null"
    return "other"


class TableStream:
    """The files of a folder or glob, read batch by batch.

    Parameters
    ----------
    path : str or Path
        A folder (searched recursively; Hive ``key=value`` folders give columns) or a
        glob such as ``data/*.parquet``. All files must be Parquet, or all CSV.
    sep : str, optional
        The CSV field separator (default: sniffed from the first file).
    encoding : str, optional
        The CSV files' text encoding (default: UTF-8).
    decimal : str, optional
        The CSV files' decimal mark (default: ``.``), as ``--decimal ,`` for ``0,23``.
    bad_rows : {"error", "skip"} or BadRows
        A CSV row with the wrong number of fields: a ``DataError`` naming its file and
        data row, or left out and counted (``bad_rows.notices()``), as for one file (a
        ``BadRows`` of its own: an error ending with its ``fix``).
    text : sequence of str
        Columns read as written (``predict --keep``, as a file's): text in CSV files
        (``00042`` keeps its zeros), and in Parquet files a column of numbers in the files'
        own type (uint64 ids above 2**53 stay exact; as text if the files' types differ).
    batch_rows : int
        Rows per record batch.

    Attributes
    ----------
    files : list of Path
    target : str or None
        The target column once training chose it (``fit_stream``): its blank rows are
        in no split (``row_hash`` gives them NaN).
    schema : pyarrow.Schema
        Every column as read: numbers as float64, text as string, true/false as bool.
    """

    def __init__(
        self,
        path,
        *,
        sep=None,
        encoding=None,
        decimal=None,
        bad_rows="error",
        text=(),
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        import pyarrow.dataset as ds

        self.path = str(path)
        self.files, self.base = base_files = dataset_files(path)
        base = base_files[1]
        formats = {SUFFIXES[p.suffix.lower()] for p in self.files}
        if len(formats) > 1:
            raise DataError(f"{path}: mixes Parquet and CSV files; keep one kind per dataset")
        self.format = formats.pop()
        check_not_empty(self.files, self.format)
        self.sep = self.encoding = None
        self.decimal = decimal if decimal and decimal != "." else None
        self.bad_rows = bad_rows if isinstance(bad_rows, BadRows) else BadRows(bad_rows)
        self.text = list(text)
        if self.format == "csv":
            file_format = self._csv_format(sep, encoding)
        else:
            file_format = ds.ParquetFileFormat()
        self.batch_rows = batch_rows
        self.target = None
        self.bad_rows.file = self.files[0]
        try:
            dataset = ds.dataset(
                [str(p) for p in self.files],
                format=file_format,
                partitioning="hive",
                partition_base_dir=str(base),
            )
        except Exception as error:  # the first file cannot be read
            said = self.bad_rows.message() or _unreadable(self.files[0], error)
            raise DataError(said) from None
        self.fragments = list(dataset.get_fragments())
        partition_names = {  # Hive keys: key=value folders
            part.split("=", 1)[0]
            for p in self.files
            for part in p.relative_to(self.base).parts[:-1]
            if "=" in part
        }
        self._wide = {}  # 64-bit integer columns: {name: their Arrow type in the files}
        self.schema = self._check_schemas(dataset.schema, partition_names)
        self._read_schema = self._exact_schema()

    def _csv_format(self, sep, encoding):
        """The ``pyarrow.dataset`` format of the CSV files: their encoding, separator
        (sniffed from the first file when not given), decimal mark and ``--bad-rows``."""
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.dataset as ds

        self.encoding = _check_encoding(encoding)
        self.sep = sep or _sniff(self.files[0], self.encoding)
        self._csv_options = (
            pcsv.ReadOptions(encoding=self.encoding, block_size=csv_block_size(self.files)),
            pcsv.ParseOptions(delimiter=self.sep, invalid_row_handler=self.bad_rows),
        )
        return ds.CsvFileFormat(
            parse_options=self._csv_options[1],
            read_options=self._csv_options[0],
            convert_options=pcsv.ConvertOptions(
                strings_can_be_null=True,
                decimal_point=self.decimal or ".",
                column_types={name: pa.string() for name in self.text},
            ),
        )

    def _kind(self, arrow_type) -> str:
        """The kind of a column of one file: a date Arrow found in a CSV file is text,
        read as a file's dates are (``barenet.tables.dates``: the same format, the same
        odd values), whichever type Arrow guessed from each file's first rows."""
        kind = _kind(arrow_type)
        return "text" if kind == "date" and self.format == "csv" else kind

    def _check_schemas(self, dataset_schema, partition_names):
        """The reading schema, after checking each file's columns against the first's."""
        first = None
        kinds, types = {}, {}  # name: (kind, first file, type); name: the files' types
        for fragment, path in zip(self.fragments, self.files, strict=True):
            self.bad_rows.file = path
            try:
                schema = fragment.physical_schema
            except Exception as error:
                raise DataError(self.bad_rows.message() or _unreadable(path, error)) from None
            names = [n for n in schema.names if n not in partition_names]
            for field in schema:
                types.setdefault(field.name, set()).add(field.type)
            if first is None:
                first = (path, names)
                for field in schema:
                    kinds[field.name] = (self._kind(field.type), path, field.type)
                continue
            if set(names) != set(first[1]):
                missing = sorted(set(first[1]) - set(names))
                extra = sorted(set(names) - set(first[1]))
                raise DataError(
                    f"{path}: its columns differ from {first[0]}'s "
                    f"(missing {missing}, extra {extra}); every file needs the same columns"
                )
            for field in schema:
                kind = self._kind(field.type)
                seen, where, seen_type = kinds[field.name]
                if kind == "null" or seen == "null":  # an all-missing column in one file
                    if seen == "null":
                        kinds[field.name] = (kind, path, field.type)
                    continue
                if kind != seen:
                    raise DataError(self._type_change(path, field, kind, kinds[field.name]))
        return self._reading_schema(dataset_schema, kinds, types)

    def _reading_schema(self, dataset_schema, kinds: dict, types: dict):
        """The schema columns are read in, by kind (``kinds``: ``(kind, first file, type)``
        per column); a number column of ``text`` in the files' own type (``types``: the
        set of each column's types), or as text where the files' types differ."""
        import pyarrow as pa

        read_as = {
            "number": pa.float64(),
            "text": pa.string(),
            "bool": pa.bool_(),
            "date": pa.timestamp("us", tz="UTC"),  # any unit, any zone: UTC microseconds
        }
        fields = []
        for field in dataset_schema:
            kind = kinds[field.name][0] if field.name in kinds else _kind(field.type)
            if kind == "other":
                where = kinds[field.name][1] if field.name in kinds else self.path
                if self.format == "csv" and pa.types.is_binary(field.type):
                    raise DataError(
                        f"{where}: column {field.name!r} is not {self.encoding} text; give "
                        "the files' --encoding (latin-1, cp1252, utf-16...)"
                    )
                raise DataError(
                    f"{where}: column {field.name!r} has type {field.type}, which folder "
                    "data does not read yet; leave it out with --drop"
                )
            read = read_as.get(kind, pa.float64())
            written = types.get(field.name, {field.type}) - {pa.null()}
            if field.name in self.text and kind == "number":  # as written: exact
                read = written.pop() if len(written) == 1 else pa.string()
            elif (
                kind == "number" and written in ({pa.int64()}, {pa.uint64()}) and not self.decimal
            ):
                self._wide[field.name] = written.pop()  # checked exact, then float64
            fields.append(pa.field(field.name, read))
        return pa.schema(fields)

    def _exact_schema(self):
        """The schema the files are read in: ``schema``, but the 64-bit integer columns
        exact, in their own type (Parquet) or as text (CSV: decimals may follow)."""
        import pyarrow as pa

        schema = self.schema
        for name, wide in self._wide.items():
            field = schema.field(name).with_type(wide if self.format == "parquet" else pa.string())
            schema = schema.set(schema.get_field_index(name), field)
        return schema

    def _exact(self, batch, path):
        """``batch`` with its 64-bit integer columns (read exact: in their own type, or
        as text from CSV files) as float64, after ``barenet.tables.reading.
        check_exact_integers``: a file's ``DataError`` where different integers beyond
        2**53 become the same float64 number (within the batch)."""
        import pandas as pd
        import pyarrow as pa

        from barenet.tables.reading import check_exact_integers

        columns = list(batch.columns)
        for i, name in enumerate(batch.schema.names):
            if name not in self._wide:
                continue
            floats = columns[i].cast(pa.float64(), safe=False)  # text: may fail, as before
            values = floats.drop_null().to_numpy(zero_copy_only=False)
            if len(values) and np.nanmax(np.abs(values), initial=0.0) > 2.0**53:
                exact = _integers(columns[i].drop_null(), self._wide[name])
                if exact is not None:  # None: not all integers (decimals: float64 as a file)
                    check_exact_integers(pd.Series(exact), name, values, path)
            columns[i] = floats
        return pa.RecordBatch.from_arrays(columns, schema=_select(self.schema, batch.schema.names))

    def _type_change(self, path, field, kind: str, seen) -> str:
        """What is wrong with a column of ``path`` whose kind is not the one ``seen``
        (``(kind, file, Arrow type)``) in an earlier file: for text in a CSV file's number
        column, its first value that is not a number."""
        seen_kind, where, seen_type = seen
        said = (
            f"{path}: column {field.name!r} holds {kind} ({field.type}) but "
            f"{seen_kind} ({seen_type}) in {where}; its type must not change between files"
        )
        if not (self.format == "csv" and kind == "text" and seen_kind == "number"):
            return said
        bad = first_non_number(path, field.name, self._csv_options, self.decimal)
        if bad is None:
            return said
        return not_a_number(path, field.name, bad, where)

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)

    def batches(self, columns=None, order=None, start=(0, 0)):
        """Yield ``(position, file_index, first_row, batch)``: record batches of
        ``columns`` (default: all), file by file in ``order`` (default: as sorted).

        ``position`` is ``(i, b)``, the ``i``-th file in ``order`` and its ``b``-th batch;
        batches before ``start`` are skipped (resuming). ``first_row`` numbers the
        batch's first row within its file, from 0.
        """
        order = range(len(self.fragments)) if order is None else order
        schema = self.schema if columns is None else _select(self.schema, columns)
        for i, file_index in enumerate(order):
            if i < start[0]:
                continue
            fragment, path = self.fragments[file_index], self.files[file_index]
            row, self.bad_rows.file = 0, path
            try:
                iterator = fragment.to_batches(
                    schema=self._read_schema,
                    columns=schema.names,
                    batch_size=self.batch_rows,
                    batch_readahead=1,
                )
                for b, batch in enumerate(iterator):
                    batch = self._exact(batch, path) if self._wide else batch
                    check_batch_numbers(batch, path, row)
                    if (i, b) >= start:
                        yield (i, b), file_index, row, batch
                    row += batch.num_rows
            except DataError:
                raise
            except Exception as error:
                if self.format == "csv":
                    names = fragment.physical_schema.names
                    said = self.bad_rows.message() or conversion_failure(
                        path, error, names, self._csv_options, self.decimal
                    )
                    if said:
                        raise DataError(said) from None
                damage = parquet_damage(path) if self.format == "parquet" else None
                raise DataError(_unreadable(path, error, row, damage)) from None


def _integers(array, wide):
    """The values of ``array`` (no nulls) as integers of Arrow type ``wide`` (NumPy), or
    None if some are not integers of that type."""
    import pyarrow as pa

    try:
        return array.cast(wide).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _select(schema, columns):
    import pyarrow as pa

    from barenet.tables.columns import missing_column_message

    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise DataError(missing_column_message(missing[0], schema.names, "the table"))
    return pa.schema([schema.field(c) for c in columns])


def _unreadable(path, error, row=None, damage=None) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    where = f" (after data row {row})" if row else ""
    where = f": {damage} do not decode" if damage else where
    return f"{path}: not a readable table{where} ({type(error).__name__}: {message})"


def refuse_thousands(thousands) -> None:
    """A ``BarenetValueError`` for ``--thousands`` given with a folder or glob: pyarrow's
    CSV reader does not parse thousands separators (a column of ``1,257.30`` would be
    read as text)."""
    if thousands:
        raise BarenetValueError(
            f"--thousands {thousands}: a folder or glob's CSV files are read without "
            "thousands separators; remove them from the files (or write the files as "
            "Parquet), or give one file to --data"
        )


def _check_encoding(encoding) -> str:
    """``encoding`` (default UTF-8) if Python knows it, else a ``BarenetValueError``."""
    import codecs

    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise BarenetValueError(
            f"--encoding {encoding}: not a text encoding Python knows (try utf-8, latin-1, "
            "cp1252 or utf-16)"
        ) from None
    return encoding


def _sniff(path: Path, encoding: str = "utf-8") -> str:
    encoding = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    with open(path, newline="", encoding=encoding, errors="replace") as f:
        sample = f.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


# -- splits -----------------------------------------------------------------------

SPLITS = ("train", "validation", "test")


def row_hash(stream: TableStream, file_index: int, first_row: int, batch, key=None):
    """A uniform number in [0, 1) per row of ``batch``, from a hash of its key: the
    values of column ``key``, or the file's path and the row's number in it."""
    import pandas as pd

    if key is not None:
        values = batch.column(key).to_pandas().to_numpy()
        hashed = pd.util.hash_array(values, categorize=False)
    else:
        name = stream.files[file_index].relative_to(stream.base).as_posix()
        salt = np.uint64(zlib.crc32(name.encode()))
        rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.uint64)
        hashed = pd.util.hash_array(rows ^ (salt << np.uint64(32)), categorize=False)
    u = (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53
    if stream.target is not None and stream.target in batch.schema.names:
        u[blank_target_rows(batch.column(stream.target))] = np.nan  # in no split
    return u


def blank_target_rows(column) -> np.ndarray:
    """True (n,) for the rows of an Arrow column that are blank: missing, or text of
    spaces only (as ``barenet.tables.columns.blank_targets`` for a file)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = column.is_null()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        blank = pc.or_(blank, pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), False))
    return blank.to_numpy(zero_copy_only=False)


def split_of(u: np.ndarray, test_size: float, validation_size: float) -> np.ndarray:
    """0 (training), 1 (validation) or 2 (test) per row from its hash ``u``: test rows
    are ``u < test_size``, validation rows the next ``validation_size``; 3 (no split) for
    a row whose ``u`` is NaN (its target is blank)."""
    split = np.where(u < test_size, 2, np.where(u < test_size + validation_size, 1, 0))
    return np.where(np.isnan(u), 3, split)


KEY_VALUES_COUNTED = 1000  # distinct --split-key values counted, for the message below


def check_key_splits(key, rows, values: int, test_size: float, validation_size: float) -> None:
    """A ``BarenetValueError`` when ``--split-key``'s values leave a split asked for with
    no rows (``rows``: training, validation and test rows; ``values``: the key's distinct
    values counted, up to ``KEY_VALUES_COUNTED``): each value's rows all go to one split,
    so a key with few values cannot split the data in the fractions asked."""
    asked = {"training": 1.0, "validation": validation_size, "test": test_size}
    empty = [
        name for (name, size), n in zip(asked.items(), rows, strict=True) if size > 0 and n == 0
    ]
    if empty:
        many = f"over {KEY_VALUES_COUNTED}" if values > KEY_VALUES_COUNTED else str(values)
        many += " distinct value" if values == 1 else " distinct values"
        raise BarenetValueError(
            f"--split-key {key!r}: its {many} put no row in the {empty[0]} "
            "split (all the rows of one value go to one split); give a column with many "
            "values (hundreds or more), or leave --split-key out to split by file and row"
        )


def check_split_key(stream: TableStream, key) -> None:
    if key is not None and key not in stream.names:
        raise BarenetValueError(
            f"--split-key {key!r}: no such column; the columns are {stream.names}"
        )
