"""Reading tables as they come (tables.read_table) and the column preprocessing
learned from training rows (tables.fit_columns / encode)."""

import json

import numpy as np
import pandas as pd
import pytest

from barenet.errors import BarenetError, DataError
from barenet.tables.columns import (
    choose_task,
    describe,
    encode,
    encoded_names,
    fit_columns,
    read_table,
)
from barenet.tables.preprocessing import Preprocessing

EXPECTED = pd.DataFrame({"x": [1.5, 2.25, -3.0], "name": ["a b", "c,d", 'e"f'], "y": [1, 2, 3]})


def test_sniffed_separators_quoting_and_crlf(tmp_path):
    for sep in [",", ";", "\t", "|"]:
        path = tmp_path / "t.csv"
        EXPECTED.to_csv(path, sep=sep, index=False, lineterminator="\r\n")
        frame = read_table(path)
        assert list(frame.columns) == ["x", "name", "y"], sep
        pd.testing.assert_frame_equal(frame, EXPECTED)


def test_sep_decimal_and_encoding_options(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_bytes("prix;ville\n1,5;Orléans\n2,25;Besançon\n".encode("latin-1"))
    with pytest.raises(DataError, match="--encoding latin-1"):
        read_table(path, sep=";", decimal=",")
    frame = read_table(path, sep=";", decimal=",", encoding="latin-1")
    assert frame["prix"].tolist() == [1.5, 2.25] and frame["ville"][1] == "Besançon"
    sniffed = read_table(path, decimal=",", encoding="latin-1")  # ';' found without --sep
    assert sniffed["prix"].tolist() == [1.5, 2.25]


def test_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfage,y\n1,2\n3,4\n")
    assert list(read_table(path).columns) == ["age", "y"]
    assert list(read_table(path, encoding="utf-8").columns) == ["age", "y"]


def test_parquet_by_its_suffix(tmp_path):
    path = tmp_path / "t.parquet"
    EXPECTED.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), EXPECTED)


def test_drop_and_the_unnamed_index_column(tmp_path):
    path = tmp_path / "exported.csv"
    EXPECTED.to_csv(path)  # pandas' default: the index as an unnamed first column
    notices = []
    frame = read_table(path, drop=["name"], notices=notices)
    assert list(frame.columns) == ["x", "y"]
    assert len(notices) == 1 and "unnamed leading column" in notices[0]
    with pytest.raises(DataError, match="no column 'nope'"):
        read_table(path, drop=["nope"])


def test_missing_and_empty_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        read_table(tmp_path / "header.csv")


def mixed_frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(100, 10, n),
            "rooms": rng.integers(1, 6, n).astype(float),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "rare": np.where(np.arange(n) < 3, "seldom", "often"),
            "garden": rng.random(n) < 0.5,
            "id": [f"r{i}" for i in range(n)],
            "constant": 7,
            "empty": np.nan,
        }
    )
    frame.loc[::10, "rooms"] = np.nan
    return frame


def test_each_column_kind_learned_from_training_rows():
    frame = mixed_frame()
    specs, dropped = fit_columns(frame, max_categories=20)
    kinds = {s["name"]: s for s in specs}
    assert kinds["size"] == {
        "name": "size",
        "kind": "numeric",
        "median": pytest.approx(float(frame["size"].median())),
        "indicator": False,
    }
    assert kinds["rooms"]["indicator"] and kinds["rooms"]["median"] == frame["rooms"].median()
    assert kinds["city"]["kind"] == "category" and sorted(kinds["city"]["levels"]) == [
        "Lyon",
        "Nice",
        "Paris",
    ]
    assert not kinds["city"]["other"]
    assert kinds["rare"]["levels"] == ["often"] and kinds["rare"]["other"]  # 3 rows < 5
    assert kinds["garden"]["kind"] == "bool"
    assert [d.split()[0] for d in dropped] == ["id", "constant", "empty"]
    x = encode(frame, specs)
    names = encoded_names(specs)
    assert x.shape == (200, len(names))
    rooms, missing = names.index("rooms"), names.index("rooms_missing")
    np.testing.assert_array_equal(x[::10, rooms], kinds["rooms"]["median"])
    np.testing.assert_array_equal(x[:, missing], frame["rooms"].isna())
    np.testing.assert_array_equal(x[:, names.index("garden")], frame["garden"])
    np.testing.assert_array_equal(x[:, names.index("rare=(other)")], np.arange(200) < 3)
    np.testing.assert_array_equal(x[:, names.index("city=Nice")], frame["city"] == "Nice")


def test_max_categories_pools_the_rarest_into_other():
    frame = pd.DataFrame({"c": ["a"] * 30 + ["b"] * 20 + ["c"] * 10 + ["d"] * 6})
    specs, _ = fit_columns(frame, max_categories=2)
    assert specs[0]["levels"] == ["a", "b"] and specs[0]["other"]
    x = encode(pd.DataFrame({"c": ["d", "b", "never seen"]}), specs)
    np.testing.assert_array_equal(x, [[0, 0, 1], [0, 1, 0], [0, 0, 1]])


def test_category_spec_from_counts_the_rule_both_routes_share(monkeypatch):
    """``category_spec`` of ``{value: rows}`` (what a file counts with np.unique and a
    folder in its pass): no "other" when every value is a level, None below 2
    features, blanks pooled but never listed, the pooled list cut at MAX_POOLED_STORED."""
    from barenet.tables import column_fit
    from barenet.tables.column_fit import category_spec
    from barenet.tables.columns import MISSING

    spec = category_spec("c", {"b": 5, "a": 5}, 10)
    assert spec["levels"] == ["a", "b"] and not spec["other"] and spec["pooled"] == []
    assert category_spec("c", {"a": 9}, 10) is None  # one level, nothing else: constant
    assert category_spec("c", {"a": 4, "b": 4}, 10) is None  # only "other"
    spec = category_spec("c", {"a": 9, MISSING: 2, "z": 1}, 10)
    assert spec["levels"] == ["a"] and spec["other"] and spec["pooled"] == ["z"]
    monkeypatch.setattr(column_fit, "MAX_POOLED_STORED", 2)
    spec = category_spec("c", {"a": 9, "d": 1, "c": 1, "b": 1}, 10)
    assert spec["pooled"] == ["b", "c"]


def test_unseen_and_missing_values_at_prediction_and_any_column_order():
    frame = mixed_frame()
    specs, _ = fit_columns(frame)
    new = pd.DataFrame(
        {
            "extra": [1, 2],
            "garden": [None, True],
            "city": ["Marseille", None],
            "rare": ["often", "brand new"],
            "rooms": [np.nan, 3.0],
            "size": [np.nan, 90.0],
        }
    )
    x = encode(new, specs)
    names = encoded_names(specs)
    row = dict(zip(names, x[0], strict=True))
    assert row["size"] == specs[0]["median"]  # missing at predict time, none in training
    assert row["rooms_missing"] == 1 and row["garden"] == specs[-1]["median"]
    assert row["city=Paris"] == row["city=Lyon"] == row["city=Nice"] == 0  # no "other" level
    assert dict(zip(names, x[1], strict=True))["rare=(other)"] == 1


def test_text_in_a_numeric_column_names_its_row():
    frame = pd.DataFrame({"a": ["1", "2", "3", "oops"]})
    specs, _ = fit_columns(frame.iloc[:3])
    with pytest.raises(DataError, match=r"column 'a', data row 4: 'oops' is not a number"):
        encode(frame, specs)


def test_task_inferred_from_the_target_and_implausible_choices():
    assert choose_task(pd.Series(["setosa", "virginica"]), "s", None)[0] == "classification"
    assert choose_task(pd.Series([True, False]), "b", None)[0] == "classification"
    assert choose_task(pd.Series([0, 1, 2, 1]), "k", None)[0] == "classification"
    continuous = pd.Series(np.linspace(0, 1, 300))
    task, why = choose_task(continuous, "price", None)
    assert task == "regression" and "300 distinct" in why
    with pytest.raises(DataError, match="300 distinct non-integer values"):
        choose_task(continuous, "price", "classification")
    with pytest.raises(DataError, match="needs a numeric target"):
        choose_task(pd.Series(["a", "b"]), "s", "regression")


def test_column_specs_round_trip_through_json_and_accept_frames_and_arrays():
    from sklearn.preprocessing import StandardScaler

    frame = mixed_frame()
    specs, _ = fit_columns(frame)
    x = encode(frame, specs)
    prep = Preprocessing(
        [s["name"] for s in specs],
        "y",
        StandardScaler().fit(x),
        None,
        ["no", "yes"],
        columns=specs,
    )
    again = Preprocessing.from_json(json.loads(json.dumps(prep.to_json())))
    assert again.columns == specs and again.classes == ["no", "yes"]
    shuffled = frame[list(reversed(frame.columns))]
    np.testing.assert_allclose(again.transform(shuffled), prep.transform(frame))
    as_array = frame[again.feature_names].to_numpy(dtype=object)
    np.testing.assert_allclose(again.transform(as_array), prep.transform(frame))
    with pytest.raises(DataError, match="no column 'city'") as error:
        again.transform(frame.drop(columns="city"))
    assert isinstance(error.value, BarenetError)


def test_an_integer_row_id_is_dropped_but_a_unique_measurement_is_kept():
    import pandas as pd

    from barenet.tables.columns import fit_columns

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": rng.permutation(np.arange(1000, 1050)),  # one per row, consecutive
            "rooms": rng.permutation(np.arange(50)) * 7 + 3,  # unique, but not a range
            "x": rng.standard_normal(50),
        }
    )
    specs, dropped = fit_columns(frame)
    assert [s["name"] for s in specs] == ["rooms", "x"]
    assert dropped == ["id (an identifier: consecutive integers, one per row)"]


def test_review_findings_are_clear_errors_or_handled(tmp_path):
    from barenet.tables.columns import check_numbers

    with pytest.raises(DataError, match="single value: there is nothing to learn"):
        choose_task(pd.Series(["same"] * 30), "label", None)
    with pytest.raises(DataError, match="mostly one per row"):
        choose_task(pd.Series([f"{i},5" for i in range(300)]), "y", None)
    with pytest.raises(DataError, match="decimal comma.*--decimal ,"):
        check_numbers(pd.DataFrame({"x": ["1,5", "2,25", "-3,0"]}))
    # pandas' NA (nullable columns, as Parquet gives) is missing, not a category
    frame = pd.DataFrame(
        {
            "flag": pd.array([True, False, None] * 10, dtype="boolean"),
            "kind": pd.array(["a", "b", None] * 10, dtype="string"),
        }
    )
    specs, _ = fit_columns(frame)
    kinds = {s["name"]: s for s in specs}
    assert kinds["flag"]["kind"] == "bool" and kinds["flag"]["indicator"]
    assert "<NA>" not in kinds["kind"]["levels"]


def test_a_date_column_is_a_date_kind_next_to_the_others():
    frame = mixed_frame()
    frame["sold"] = pd.date_range("2015-03-01", periods=len(frame), freq="7D").strftime("%d/%m/%Y")
    specs, dropped = fit_columns(frame)
    sold = next(spec for spec in specs if spec["name"] == "sold")
    assert sold["kind"] == "date" and sold["format"] == "%d/%m/%Y"
    assert json.loads(json.dumps(sold)) == sold  # plain JSON, as model files store it
    names = encoded_names(specs)
    assert names[-1] == "sold_days" and "sold_year" in names
    x = encode(frame, specs)
    np.testing.assert_array_equal(x[:, names.index("sold_days")], np.arange(len(frame)) * 7)
    kinds = describe(specs, dropped)
    assert kinds["date"] == [  # weekly: always the same weekday, so no weekday feature
        "sold (year, month sin/cos, day sin/cos, day of year sin/cos, days since 2015-03-01)"
    ]
    assert describe(specs[:1], [])["date"] == []  # the key is always there


def test_blank_targets_and_their_notice():
    from barenet.tables.columns import blank_targets, blank_targets_notice

    column = pd.Series(["a", None, "  ", "b", np.nan, ""], dtype=object)
    np.testing.assert_array_equal(blank_targets(column), [0, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(blank_targets(pd.Series([1.0, np.nan])), [0, 1])
    np.testing.assert_array_equal(blank_targets(pd.Series([1, 2])), [0, 0])
    assert blank_targets_notice(1, "mpg") == "left out 1 row whose target 'mpg' is blank"
    assert blank_targets_notice(3, "mpg") == "left out 3 rows whose target 'mpg' is blank"


def test_encode_tallies_blank_cells_and_unseen_categories():
    from barenet.tables.columns import tally_notice

    specs, _ = fit_columns(mixed_frame())
    new = pd.DataFrame(
        {
            "garden": [None, True, True],
            "city": ["Marseille", None, "Brest"],
            "rare": ["often", "brand new", None],
            "rooms": [np.nan, 3.0, np.nan],
            "size": [10.0, 90.0, 20.0],
        }
    )
    tally = {}
    encode(new, specs, tally)
    assert {name: (c["imputed"], c["unseen"]) for name, c in tally.items()} == {
        "size": (0, 0),
        "rooms": (2, 0),
        "city": (1, 2),
        "rare": (1, 1),
        "garden": (1, 0),
    }
    assert tally_notice(tally) == (
        "imputed 5 blank cells (rooms: 2, city: 1, rare: 1, garden: 1); 3 cells held a "
        "category unseen in training (city: 2, e.g. 'Marseille', 'Brest', "
        "rare: 1, e.g. 'brand new')"
    )
    quiet = {}
    frame = mixed_frame()
    encode(frame[frame["rooms"].notna() & (frame["rare"] == "often")], specs, quiet)
    assert tally_notice(quiet) is None
