"""Data: California Housing with the notebook's preprocessing, the data sets bundled
with scikit-learn, and numeric CSV files."""

from __future__ import annotations

import csv
import math
import os
import urllib.error
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from barenet.errors import BarenetValueError, DataError, DataUnavailableError
from barenet.tables.preprocessing import Preprocessing


class Split(NamedTuple):
    """The notebook's preprocessed data: unpack as ``x_train, x_test, y_train, y_test,
    scaler_x, scaler_y, *_ = load_california_housing()``, or use the names.

    ``y_*`` have shape (n, 1) for regression, and hold class indices (n,) for
    classification, where ``scaler_y`` is None and ``classes`` lists the labels.
    """

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    scaler_x: object
    scaler_y: object | None
    feature_names: tuple = ()
    target_name: str = "target"
    classes: list | None = None
    columns: list | None = (
        None  # barenet.tables.columns column specs, for tables read by read_table
    )
    report: dict | None = None  # what was done to the table's columns and target
    ranges: dict | None = None  # the numeric columns' training ranges (Preprocessing.ranges)
    # a table's: () -> the Split of every row (x_train, y_train; no test rows), its
    # preprocessing learned from them all, for the model refitted on every row
    every_row: object = None

    @property
    def preprocessing(self) -> Preprocessing:
        """What a model trained on this split needs to answer raw rows."""
        return Preprocessing(
            list(self.feature_names),
            self.target_name,
            self.scaler_x,
            self.scaler_y,
            self.classes,
            columns=self.columns,
            reading=(self.report or {}).get("reading"),
            ranges=self.ranges,
        )


def preprocess(
    x,
    y,
    *,
    test_size: float = 0.2,
    random_state: int = 42,
    classification=False,
    feature_names=None,
    target_name="target",
) -> Split:
    """The notebook's recipe: StandardScaler on X (and on y for regression), then
    ``train_test_split(test_size, random_state)``.

    As in the notebook, the scalers are fitted on all rows before the split.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(x, dtype=np.float64)
    scaler_x = StandardScaler()
    x_scaled = scaler_x.fit_transform(x)
    classes = None
    if classification:
        labels, y_scaled = np.unique(np.asarray(y), return_inverse=True)
        classes = [v.item() if hasattr(v, "item") else v for v in labels]
        if all(isinstance(c, float) and c.is_integer() for c in classes):
            classes = [int(c) for c in classes]  # a CSV's "3" is the label 3, not 3.0
        scaler_y = None
    else:
        scaler_y = StandardScaler()
        y_scaled = scaler_y.fit_transform(np.asarray(y, dtype=np.float64).reshape(len(x), -1))
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x_scaled,
            y_scaled,
            test_size=test_size,
            random_state=random_state,
            stratify=y_scaled if classification else None,
        )
    except ValueError as error:  # too few rows, or too few rows of a class
        how = f"stratified by its {len(classes)} classes" if classification else "randomly"
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DataError(
            f"cannot split the {len(x)} rows {how} into training and test rows: {message}"
        ) from None
    names = (
        list(feature_names) if feature_names is not None else [f"x{i}" for i in range(x.shape[1])]
    )
    return Split(x_train, x_test, y_train, y_test, scaler_x, scaler_y, names, target_name, classes)


CALIFORNIA_FILE = "cal_housing_py3.pkz"


def data_home(data_home=None) -> str:
    """Where scikit-learn keeps its data: ``data_home``, else ``$SCIKIT_LEARN_DATA``,
    else ``~/scikit_learn_data``. Unlike scikit-learn's ``get_data_home``, the folder is
    not created."""
    if data_home is None:
        data_home = os.environ.get("SCIKIT_LEARN_DATA") or os.path.join("~", "scikit_learn_data")
    return os.path.expanduser(str(data_home))


def missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def california_unavailable(home: str, reason: str = "") -> str:
    """The one-line message for California Housing missing from ``home``."""
    because = f" and could not be downloaded ({reason})" if reason else ""
    return (
        f"California Housing not found: no {CALIFORNIA_FILE} in {home}{because}; point "
        f"SCIKIT_LEARN_DATA (or --data-home) at the folder that holds {CALIFORNIA_FILE}, "
        "or run once with network access to download it there"
    )


def download_california(home: str):
    """scikit-learn's download into ``home``: two quick attempts, and scikit-learn's
    slower retries only when the server answered (a machine without network fails at
    once, without scikit-learn's seconds of waiting)."""
    from sklearn.datasets import fetch_california_housing

    try:
        with warnings.catch_warnings():  # its "Retry downloading" warning: not the user's
            warnings.filterwarnings("ignore", "Retry downloading", UserWarning)
            return fetch_california_housing(data_home=home, n_retries=1, delay=0.01)
    except urllib.error.HTTPError:
        return fetch_california_housing(data_home=home)


def fetch_california(data_home_=None, *, download_if_missing: bool = True):
    """California Housing through scikit-learn's ``fetch_california_housing`` (its cache,
    ``data_home`` and ``SCIKIT_LEARN_DATA`` honoured).

    Raises
    ------
    DataUnavailableError
        ``cal_housing_py3.pkz`` is not in the folder and cannot be downloaded (or
        ``download_if_missing`` is False): one line naming the file, the folder and
        ``SCIKIT_LEARN_DATA``. No folder is left behind by a failed download.
    """
    from sklearn.datasets import fetch_california_housing

    home = data_home(data_home_)
    if (Path(home) / CALIFORNIA_FILE).is_file():
        return fetch_california_housing(data_home=home, download_if_missing=False)
    if not download_if_missing:
        raise DataUnavailableError(california_unavailable(home))
    created = missing_folders(Path(home))
    try:
        return download_california(home)
    except Exception as error:  # URLError, OSError, ...: no network, or a bad download
        for folder in created:  # scikit-learn made them; leave nothing behind on a miss
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        raise DataUnavailableError(california_unavailable(home, reason)) from error


def load_california_housing(
    data_home=None,
    *,
    test_size: float = 0.2,
    random_state: int = 42,
    download_if_missing: bool = True,
) -> Split:
    """California Housing, preprocessed as in the notebook.

    Returns
    -------
    Split
        x_train (16512, 8), x_test (4128, 8), y_train (16512, 1), y_test (4128, 1),
        standardised; scaler_x and scaler_y bring them back to original units
        (the target is in $100,000).
    """
    bunch = fetch_california(data_home, download_if_missing=download_if_missing)
    return preprocess(
        bunch.data,
        bunch.target,
        test_size=test_size,
        random_state=random_state,
        feature_names=bunch.feature_names,
        target_name="MedHouseVal",
    )


BUILTIN = ("california", "diabetes", "digits")


def load_builtin(
    name: str, *, data_home=None, test_size: float = 0.2, random_state: int = 42
) -> Split:
    """``"california"`` (regression), ``"diabetes"`` (regression, bundled with
    scikit-learn) or ``"digits"`` (10-class classification, bundled)."""
    from sklearn import datasets

    if name == "california":
        return load_california_housing(data_home, test_size=test_size, random_state=random_state)
    if name == "diabetes":
        bunch = datasets.load_diabetes()
        return preprocess(
            bunch.data,
            bunch.target,
            test_size=test_size,
            random_state=random_state,
            feature_names=bunch.feature_names,
            target_name="progression",
        )
    if name == "digits":
        bunch = datasets.load_digits()
        return preprocess(
            bunch.data,
            bunch.target,
            test_size=test_size,
            random_state=random_state,
            classification=True,
            feature_names=bunch.feature_names,
            target_name="digit",
        )
    raise BarenetValueError(f"unknown dataset {name!r}; choose california, diabetes or digits")


def csv_header(path) -> list[str]:
    """The column names in the first row of a CSV file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = next(csv.reader(f), None)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({error})") from None
    if not first:
        raise DataError(f"{path}: the file is empty")
    return [name.strip() for name in first]


def read_csv(path, columns: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Read a numeric CSV file with a header row.

    Parameters
    ----------
    path : str or Path
    columns : list of str, optional
        Keep only these columns, in this order (each must exist).

    Returns
    -------
    header : list of str
    data : ndarray, shape (n_rows, n_columns), float64

    Raises
    ------
    DataError
        Missing or empty file, a missing column, a ragged row, or a value that is not a
        finite number (the message names the column and the 1-based data row).
    """
    path = Path(path)
    rows = _csv_rows(path)
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise DataError(f"{path}: the file has a header but no data rows")
    if len(set(header)) != len(header):
        raise DataError(f"{path}: the header repeats a column name")
    wanted = header if columns is None else list(columns)
    for name in wanted:
        if name not in header:
            from barenet.tables.columns import missing_column_message

            raise DataError(missing_column_message(name, header, str(path)))
    return wanted, _numbers(path, rows, header, wanted)


def _csv_rows(path: Path) -> list[list[str]]:
    """The file's rows of text fields, blank rows left out (``DataError`` if there are
    none, or the file is missing or not CSV text)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({error})") from None
    rows = [row for row in rows if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    return rows


def _numbers(path: Path, rows: list, header: list[str], wanted: list[str]) -> np.ndarray:
    """The ``wanted`` columns of the data rows (``rows[1:]``) as finite floats:
    (n_rows, len(wanted)), float64; ``DataError`` naming the row (and column) of a
    ragged row or a value that is not a finite number."""
    indices = [header.index(name) for name in wanted]
    data = np.empty((len(rows) - 1, len(wanted)))
    for r, row in enumerate(rows[1:], 1):
        if len(row) != len(header):
            raise DataError(
                f"{path}: data row {r} has {len(row)} fields, the header {len(header)}"
            )
        for c, i in enumerate(indices):
            try:
                value = float(row[i])
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise DataError(
                    f"{path}: column {wanted[c]!r}, data row {r}: {row[i]!r} is not a finite "
                    "number (missing values must be filled in first)"
                )
            data[r - 1, c] = value
    return data
