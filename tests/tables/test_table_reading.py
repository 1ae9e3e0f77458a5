"""Hostile and unusual table files (barenet.tables.reading, through tables.read_table):
each is read as meant or refused with a ``DataError`` naming the place."""

import bz2
import gzip
import lzma
import zipfile

import numpy as np
import pandas as pd
import pytest

from barenet.errors import DataError
from barenet.tables.columns import check_numbers, choose_task, read_table

CSV = "x1,x2,y\n1.5,2,3\n2.5,4,5\n3.5,6,7\n"


def test_guarantee_repeated_column_names_are_named(tmp_path):
    """guarantees.md, CSV files: repeated column names are errors naming them."""
    path = tmp_path / "t.csv"
    path.write_text("x1,x1,y\n1,2,3\n")
    with pytest.raises(DataError, match="'x1' appears twice"):
        read_table(path)
    path.write_text('x1,"x1 ",y\n1,2,3\n')  # equal once spaces are stripped
    with pytest.raises(DataError, match="'x1' and 'x1 ' are the same name"):
        read_table(path)


def test_guarantee_ragged_rows_name_their_line_or_are_skipped(tmp_path):
    """guarantees.md, CSV files: a row with too few or too many fields is an error
    naming its line; --bad-rows skip leaves such rows out and counts them."""
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n")
    with pytest.raises(DataError, match="line 3: too few fields"):
        read_table(path)
    path.write_text("a,b,y\n1,2,3\n6,7,8\n9,10,11,12\n")
    with pytest.raises(DataError, match="line 4: too many fields"):
        read_table(path)
    path.write_text("a,b,y\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n")
    notices = []
    frame = read_table(path, bad_rows="skip", notices=notices)
    assert frame["a"].tolist() == [1, 6, 13]
    assert notices == ["skipped 2 rows of t.csv with the wrong number of fields (lines 3, 5)"]
    path.write_text("a,b,y\n1,2,3\n4,5\n6,7,8\n")
    notices = []
    read_table(path, bad_rows="skip", notices=notices)
    assert notices == ["skipped 1 row of t.csv with the wrong number of fields (line 3)"]


def test_a_quoted_field_with_the_separator_or_a_newline_is_not_ragged(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b,y\n"1,5","multi\nline",3\n2,x,4\n')
    frame = read_table(path)
    assert frame["b"].tolist() == ["multi\nline", "x"]


@pytest.mark.parametrize(
    "suffix, opener",
    [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)],
    ids=["gz", "bz2", "xz"],
)
def test_compressed_csv_is_read_as_pandas_reads_it(tmp_path, suffix, opener):
    path = tmp_path / f"t.csv{suffix}"
    with opener(path, "wt") as f:
        f.write(CSV.replace(",", ";"))
    frame = read_table(path)
    assert frame["x1"].tolist() == [1.5, 2.5, 3.5]
    misnamed = tmp_path / "plain_name.csv"  # compressed, though named .csv
    misnamed.write_bytes(path.read_bytes())
    assert read_table(misnamed)["y"].tolist() == [3, 5, 7]


def test_zipped_csv_and_a_zip_of_several_files(tmp_path):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("t.csv", CSV)
    assert read_table(path)["x2"].tolist() == [2, 4, 6]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", CSV)
        archive.writestr("b.csv", CSV)
    with pytest.raises(DataError, match="exactly one CSV file"):
        read_table(path)


def test_an_excel_file_gets_the_advice_to_save_it_as_csv(tmp_path):
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        with pytest.raises(DataError, match="save it as CSV"):
            read_table(path)
    else:
        with pytest.raises(DataError, match="Excel"):
            read_table(path)


def test_thousands_separators_are_advised_and_read(tmp_path):
    path = tmp_path / "t.csv"
    rows = "".join(f'"{25835 * i:,}",{i}\n' for i in range(10))  # 0 and 25,835 ...
    path.write_text("price,y\n" + rows)
    with pytest.raises(DataError, match="thousands separator.*--thousands ,"):
        check_numbers(read_table(path))
    frame = read_table(path, thousands=",")
    assert frame["price"].iloc[1] == 25835 and frame["price"].dtype.kind in "if"


def test_percent_and_currency_columns_become_numbers_with_a_notice(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('rate,cost,name,y\n12%,"$1,200",a,1\n-3.5 %,$7,b,2\n,$0.5,c,3\n')
    notices = []
    frame = read_table(path, notices=notices)
    np.testing.assert_array_equal(frame["rate"], [12.0, -3.5, np.nan])
    np.testing.assert_array_equal(frame["cost"], [1200.0, 7.0, 0.5])
    assert frame["name"].tolist() == ["a", "b", "c"]
    assert len(notices) == 2 and "percentages such as '12%' -> 12" in notices[0]
    assert "amounts of money" in notices[1]


def test_infinite_and_huge_numbers_are_named_by_column_and_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,2\n2,inf\n")
    with pytest.raises(DataError, match=r"column 'y', data row 2: inf is not a finite"):
        read_table(path)
    path.write_text("a,y\n1,2\n-inf,3\n")
    with pytest.raises(DataError, match=r"column 'a', data row 2: -inf"):
        read_table(path)
    path.write_text("a,y\n1,2\n1e308,3\n")
    with pytest.raises(DataError, match=r"column 'a', data row 2: 1e\+308 is too large"):
        read_table(path)


def test_a_non_number_in_a_numeric_target_is_named_with_its_row():
    column = pd.Series([str(v) for v in np.arange(600) / 7] + ["?"] + ["1.5"] * 3)
    with pytest.raises(DataError, match=r"data row 601: '\?' is not a number"):
        choose_task(column, "y", None)


def test_an_unnamed_first_column_is_dropped_only_when_it_numbers_the_rows(tmp_path):
    path = tmp_path / "t.csv"
    for start in (0, 1):
        rows = "".join(f"{start + i},{i * 0.5},{i}\n" for i in range(5))
        path.write_text(",a,y\n" + rows)
        notices = []
        assert list(read_table(path, notices=notices).columns) == ["a", "y"]
        assert "numbers the rows" in notices[0]
    path.write_text(",a,y\n" + "".join(f"{i * 3.7},{i},{i}\n" for i in range(5)))
    frame = read_table(path)
    assert list(frame.columns) == ["Unnamed: 0", "a", "y"]  # real data: kept


def test_the_advice_when_a_file_is_read_as_one_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    from barenet.tables.columns import require_columns

    frame = read_table(path, sep=";")
    with pytest.raises(DataError, match="read as one column: give its separator"):
        require_columns(frame, ["y"], path)
