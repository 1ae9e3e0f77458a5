"""The table encoder (barenet.tables.encoder): one set of rules over canonical arrays,
and two backends (pandas, Arrow) that give them the same columns."""

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from barenet.errors import DataError
from barenet.tables.arrow_columns import SPACES, ArrowColumns, canonical_list, text_seconds
from barenet.tables.columns import MISSING, encode, fit_columns
from barenet.tables.date_text import ISO8601
from barenet.tables.dates import to_seconds
from barenet.tables.encoder import Encoder, Texts, canonical_text, canonical_texts
from barenet.tables.frame_columns import FrameColumns


def training(n=400, seed=0):
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "flag": (rng.random(n) < 0.5).astype(object),
            "town": rng.choice(
                ["Lyon", "Nice", "Metz", "Pau", "Ay"], n, p=[0.4, 0.3, 0.2, 0.09, 0.01]
            ),
            "day": days.strftime("%Y-%m-%d").astype(object),
            "at": days + pd.to_timedelta(rng.integers(0, 86400, n), unit="s"),
        }
    )
    for name in frame.columns:
        frame.loc[rng.random(n) < 0.05, name] = None
    return frame


def later(specs):
    """Rows to encode: blanks, spaces, a pooled value, values never seen, dates outside
    the training range."""
    return pd.DataFrame(
        {
            "x": [1.5, None, 2.0, -1.0, 0.0, None],
            "flag": [True, None, False, True, None, False],
            "town": [" Lyon", "", None, "Ay", "Brest", "Brest "],
            "day": ["2019-02-01", None, "2030-06-15", "2010-01-01", "2019-05-05", " 2020-01-01"],
            "at": pd.to_datetime(
                [
                    "2019-01-01 06:00",
                    None,
                    "2019-03-01 00:00",
                    "2031-01-01 00:00",
                    "2020-02-29 12:00",
                    "2019-07-01 23:59",
                ]
            ),
        }
    )


@pytest.fixture(scope="module")
def specs():
    found, dropped = fit_columns(training())
    assert [s["kind"] for s in found] == ["numeric", "bool", "category", "date", "date"]
    assert dropped == [] and "Ay" in found[2]["pooled"]
    return found


def test_both_backends_give_the_same_features_and_tallies(specs):
    frame = later(specs)
    by_frame, by_arrow = {}, {}
    x = Encoder(specs).encode(FrameColumns(frame), by_frame)
    y = Encoder(specs).encode(ArrowColumns(pa.Table.from_pandas(frame)), by_arrow)
    np.testing.assert_array_equal(x, y)
    assert by_frame == by_arrow
    assert by_frame["town"] == {
        "imputed": 2,
        "unseen": 2,
        "examples": ["Brest"],
        "clipped": 0,
        "seen_pooled": True,
    }
    assert (
        by_frame["day"]["clipped"] == by_frame["at"]["clipped"] == 2
    )  # 2010, 2030; 2019-01-01, 2031
    assert x.shape == (6, len(Encoder(specs).names))


def test_the_category_rules_blank_spaces_pooled_and_unseen(specs):
    town = specs[2]
    x = encode(later(specs)[["town"]], [town])
    lyon = town["levels"].index("Lyon")
    assert x[0, lyon] == 1 and x[0].sum() == 1  # " Lyon" is Lyon
    assert town["other"] and MISSING in town["levels"]  # enough blank training rows
    blank = town["levels"].index(MISSING)
    for row in (1, 2):  # "" and None: the "(missing)" level
        assert x[row, blank] == 1 and x[row].sum() == 1
    for row in (3, 4, 5):  # pooled "Ay", unseen "Brest" and "Brest ": "other"
        assert x[row, -1] == 1 and x[row].sum() == 1


def test_into_chosen_rows_equals_encoding_those_rows(specs):
    frame = training(300, seed=3)
    rows = np.array([5, 2, 2, 299, 0])
    encoder = Encoder(specs)
    block = np.full((encoder.width, len(rows)), np.nan)
    encoder.into(ArrowColumns(pa.Table.from_pandas(frame)), block, rows)
    np.testing.assert_array_equal(block.T, encode(frame.iloc[rows], specs))


def test_text_is_canonical_once_stripped_blank_missing():
    assert [canonical_text(v) for v in (" a ", "", "  ", None, 3)] == [
        "a",
        MISSING,
        MISSING,
        MISSING,
        "3",
    ]
    texts = FrameColumns(pd.DataFrame({"t": ["b", None, "b", np.nan, " b"]})).texts("t")
    assert isinstance(texts, Texts)
    assert [texts.values[c] for c in texts.codes] == ["b", None, "b", None, " b"]
    arrow = ArrowColumns(pa.table({"t": ["b", None, "b", None, " b"]})).texts("t")
    assert [arrow.values[c] for c in arrow.codes] == ["b", None, "b", None, " b"]


def test_a_missing_column_or_a_wrong_value_is_named(specs):
    with pytest.raises(DataError, match="no column 'flag'"):
        Encoder(specs).encode(ArrowColumns(pa.table({"x": [1.0]})))
    bad = later(specs).astype({"x": object})
    bad.loc[2, "x"] = "abc"
    as_text = bad.assign(x=[None if pd.isna(v) else str(v) for v in bad["x"]])
    for columns in (FrameColumns(bad), ArrowColumns(pa.Table.from_pandas(as_text))):
        with pytest.raises(DataError, match="column 'x', data row 3: 'abc' is not a number"):
            Encoder(specs).encode(columns)


def test_arrow_finds_the_values_python_would_strip():
    """``canonical_list`` lets Arrow pick the values to canonicalise: its list of spaces
    must be Python's, every character ``str.strip()`` removes."""
    assert set(SPACES) == {chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()}
    values = ["a", " a", "a\x1c", "", "  ", None, "b\u3000", "x y", "\u200bz"]
    assert canonical_list(pa.array(values)) == canonical_texts(values)
    blank = [MISSING] * 3
    assert canonical_texts(values) == ["a", "a", "a", *blank, "b", "x y", "\u200bz"]


def test_arrow_reads_each_distinct_date_text_once_as_pandas_reads_every_row():
    early, late = ("1500", "9999") if int(pd.__version__.split(".")[0]) >= 3 else ("1700", "2250")
    values = ["2019-01-01", f"{early}-06-01T10:00:00Z", "2019-01-01", None]
    values += [f"{late}-12-31 23:59:59"]
    values += ["2020-02-29T12:00:00.123456789+01:00", "2021-03-04 05:06 UTC", "2019-01-01"]
    spec = {"format": ISO8601}
    expected = to_seconds(pd.Series(values, dtype=object), ISO8601, "d")
    np.testing.assert_array_equal(text_seconds(pa.array(values), "d", spec), expected)
    with pytest.raises(DataError, match="column 'd', data row 3: 'soon' is not a date"):
        text_seconds(pa.array(["2019-01-01", "2019-01-01", "soon"]), "d", spec)


@pytest.mark.parametrize("dtype", [object, "boolean"])
def test_true_false_of_every_dtype_reads_alike(dtype):
    values = [True, None, False, True]
    column = pd.Series(values, dtype=dtype)
    spec = [{"name": "f", "kind": "bool", "median": 1.0, "indicator": True}]
    expected = [[1, 0], [1, 1], [0, 0], [1, 0]]
    frame = pd.DataFrame({"f": column})
    np.testing.assert_array_equal(Encoder(spec).encode(FrameColumns(frame)), expected)
    table = pa.table({"f": pa.array(values, pa.bool_())})
    np.testing.assert_array_equal(Encoder(spec).encode(ArrowColumns(table)), expected)
    plain = pd.DataFrame({"f": [True, False]})
    np.testing.assert_array_equal(Encoder(spec).encode(FrameColumns(plain)), [[1, 0], [0, 0]])
