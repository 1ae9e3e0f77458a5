"""Date and time columns (barenet.tables.dates): detection, the calendar features learned from
training rows, predict's formats, model files and ONNX."""

import csv
import datetime
import json

import numpy as np
import pandas as pd
import pytest
from date_tables import cars_frame, weather_frame

import barenet
from barenet.cli import main
from barenet.errors import DataError
from barenet.tables.calendar import NumpyOps, OnnxOps, calendar
from barenet.tables.columns import describe, describe_line, encode, encoded_names, fit_columns
from barenet.tables.dates import (
    DATETIME,
    ISO8601,
    date_format,
    encode_date,
    feature_names,
    fit_date,
    to_seconds,
)
from barenet.tables.preprocessing import Preprocessing


@pytest.mark.parametrize(
    "values, expected",
    [
        (["2020-01-31", "2021-03-04", None], ISO8601),
        (["2020-01-31T06:30:00Z", "2020-02-01 18:00:00+02:00"], ISO8601),
        (["2020-01", "2020-02"], ISO8601),  # months
        (["1970-01-01", "1971-01-01"], ISO8601),  # years written as dates
        (["31/01/2020", "01/02/2020"], "%d/%m/%Y"),  # day first: 31 cannot be a month
        (["01/31/2020", "02/01/2020"], "%m/%d/%Y"),
        (["Jan 2, 2020", "Feb 3, 2021"], "%b %d, %Y"),
        (["2 January 2020", "3 March 2021"], "%d %B %Y"),
    ],
)
def test_dates_written_as_text_are_detected_with_their_format(values, expected):
    assert date_format(pd.Series(values, dtype=object)) == expected


@pytest.mark.parametrize(
    "values",
    [
        ["1", "2", "3"],  # numbers read as text
        ["20200101", "20200102"],  # numbers that look like dates without separators
        ["1.2.3", "1.2.4"],  # versions
        ["basic", "plus", "March"],  # labels
        ["A-12", "B-13"],  # identifiers
        ["2021-001", "2021-002"],  # identifiers (or ordinal dates: too ambiguous)
        ["12:30", "13:45"],  # times of day alone
        ["1/2/20", "3/4/21"],  # two-digit years
        ["2020-01-31", "31/01/2020"],  # mixed formats
        ["2020-01-31", "2020-02-30"],  # an impossible date
        ["2020-01-31", "unknown"],  # a text value among dates
        ["2020-01-31", "2021"],  # a number among dates
    ],
)
def test_numbers_labels_identifiers_and_mixed_columns_are_not_dates(values):
    assert date_format(pd.Series(values, dtype=object)) is None


def test_numeric_and_datetime_dtypes():
    assert date_format(pd.Series([1970, 1971, 1972])) is None
    assert date_format(pd.Series([1.5, 2.5])) is None
    stamps = pd.Series(pd.to_datetime(["2020-01-01", "2020-06-01"]))
    assert date_format(stamps) == DATETIME
    assert date_format(stamps.dt.tz_localize("Europe/Paris")) == DATETIME
    assert date_format(pd.Series([datetime.date(2020, 1, 1), None, datetime.date(2021, 1, 1)]))


def test_parquet_timestamps_and_dates_are_date_columns(tmp_path):
    from barenet.tables.columns import read_table

    frame = pd.DataFrame(
        {
            "stamp": pd.to_datetime(["2020-01-01 06:00", None, "2020-03-01 18:00"], utc=True),
            "day": [datetime.date(2020, 1, 1), datetime.date(2020, 2, 3), None],
            "x": [1.0, 2.0, 3.0],
        }
    )
    frame.to_parquet(tmp_path / "t.parquet")
    specs, _ = fit_columns(read_table(tmp_path / "t.parquet"))
    kinds = {spec["name"]: (spec["kind"], spec.get("format")) for spec in specs}
    assert kinds == {
        "stamp": ("date", DATETIME),
        "day": ("date", DATETIME),
        "x": ("numeric", None),
    }


def test_the_calendar_equals_pandas_from_year_1600_to_2400():
    rng = np.random.default_rng(0)
    edges = [0, -1, 86399, 86400, 951782400, 951868800, 4107542399, -11676096000]
    seconds = np.concatenate([rng.integers(-11676096000, 13574563200, 100_000), edges])
    parts = calendar(NumpyOps, seconds.astype(np.float64))
    stamps = pd.DatetimeIndex(seconds.astype("datetime64[s]"))
    np.testing.assert_array_equal(parts["year"], stamps.year)
    np.testing.assert_array_equal(parts["month"], stamps.month)
    np.testing.assert_array_equal(parts["day"], stamps.day)
    np.testing.assert_array_equal(parts["weekday"], stamps.day_of_week)
    np.testing.assert_array_equal(parts["dayofyear"], stamps.day_of_year - 1)
    hours = stamps.hour + stamps.minute / 60 + stamps.second / 3600
    np.testing.assert_allclose(parts["hour"], hours, rtol=0, atol=1e-9)


def angle(value, period):
    return [np.sin(2 * np.pi * value / period), np.cos(2 * np.pi * value / period)]


def test_encoding_values_for_known_dates():
    column = pd.Series(["2020-01-01 00:00", "2020-03-15 06:00", "2021-12-31 18:00"])
    spec = fit_date("when", column, ISO8601)
    assert spec["parts"] == ["year", "month", "day", "weekday", "dayofyear", "hour"]
    assert spec["origin"] == 1577836800.0 and spec["origin_text"] == "2020-01-01"
    assert not spec["indicator"]
    periodic = ("month", "day", "weekday", "dayofyear", "hour")
    assert feature_names(spec) == [
        "when_year",
        *[f"when_{part}_{f}" for part in periodic for f in ("sin", "cos")],
        "when_days",
    ]
    x = encode_date(column, spec)
    # 2020-03-15 06:00 was a Sunday (weekday 6), day 74 of the year counting from 0
    expected = [
        2020,
        *angle(2, 12),
        *angle(14, 31),
        *angle(6, 7),
        *angle(74, 365.25),
        *angle(6, 24),
        74.25,
    ]
    np.testing.assert_allclose(x[1], expected, rtol=0, atol=1e-12)
    assert x.shape == (3, 12) and x[2, 0] == 2021 and x[0, -1] == 0


def test_only_the_parts_that_vary_in_the_training_rows():
    monthly = pd.Series(pd.date_range("2019-01-01", periods=30, freq="MS").strftime("%Y-%m-%d"))
    assert fit_date("m", monthly, ISO8601)["parts"] == ["year", "month"]  # no weekday
    one_year = pd.Series(pd.date_range("2019-01-01", periods=60, freq="D").strftime("%Y-%m-%d"))
    spec = fit_date("d", one_year, ISO8601)
    assert spec["parts"] == ["month", "day", "weekday", "dayofyear"]
    hourly = pd.Series(
        pd.date_range("2019-05-01", periods=50, freq="h").strftime("%Y-%m-%dT%H:%M")
    )
    assert fit_date("h", hourly, ISO8601)["parts"] == ["day", "weekday", "dayofyear", "hour"]


def test_years_written_as_dates_keep_their_order():
    years = np.arange(1970, 1983)
    frame = pd.DataFrame({"model_year": [f"{y}-01-01" for y in np.repeat(years, 3)]})
    specs, dropped = fit_columns(frame)
    assert dropped == [] and len(specs) == 1
    spec = specs[0]
    assert spec["kind"] == "date" and spec["parts"] == ["year"]
    assert encoded_names(specs) == ["model_year_year", "model_year_days"]  # no text levels
    x = encode(pd.DataFrame({"model_year": [f"{y}-01-01" for y in years]}), specs)
    np.testing.assert_array_equal(x[:, 0], years)
    assert np.all(np.diff(x[:, 1]) >= 365)  # days since 1970-01-01 rise with the year
    line = describe_line(describe(specs, []))
    assert "date: model_year (year, days since 1970-01-01)" in line and "one-hot" not in line


def test_a_daily_date_is_a_date_not_an_identifier():
    frame = weather_frame(years=1).drop(columns="weather")  # a different date in every row
    specs, dropped = fit_columns(frame)
    assert dropped == [] and specs[0]["kind"] == "date"
    line = describe_line(describe(specs, dropped))
    assert (
        "date: date (month sin/cos, day sin/cos, weekday sin/cos, day of year sin/cos, "
        "days since 2012-01-01)" in line
    )


def test_missing_dates_are_the_training_median_with_an_indicator():
    train = pd.Series(["2020-01-01", None, "2020-01-03", "2020-01-11"], dtype=object)
    spec = fit_date("d", train, ISO8601)
    assert (
        spec["indicator"]
        and spec["median"] == to_seconds(pd.Series(["2020-01-03"]), ISO8601, "d")[0]
    )
    tally = {}
    x = encode_date(pd.Series([None, "2020-01-03"], dtype=object), spec, tally)
    assert tally == {"imputed": 1}
    np.testing.assert_array_equal(x[0, :-1], x[1, :-1])  # the median date itself
    np.testing.assert_array_equal(x[:, -1], [1, 0])  # the indicator
    assert "median-imputed with a missing indicator: d" in describe_line(describe([spec], []))
    without = fit_date("d", train.dropna(), ISO8601)
    assert not without["indicator"] and len(encode_date(train, without)[0]) == len(
        feature_names(without)
    )


def test_predict_reads_the_training_format_iso_and_datetimes():
    train = pd.Series(["31/01/2020", "15/02/2020", "01/03/2021"])
    spec = fit_date("d", train, "%d/%m/%Y")
    expected = encode_date(pd.Series(["15/02/2020"]), spec)
    for same in (
        pd.Series(["2020-02-15"]),
        pd.Series(["2020-02-15T00:00:00Z"]),
        pd.Series(["2020-02-15T01:00:00+01:00"]),  # converted to UTC
        pd.Series(pd.to_datetime(["2020-02-15"])),
        pd.Series(pd.to_datetime(["2020-02-15 01:00"])).dt.tz_localize("Europe/Paris"),
    ):
        np.testing.assert_array_equal(encode_date(same, spec), expected)
    with pytest.raises(DataError, match=r"column 'd', data row 2: '2020/02/15' is not a date"):
        encode_date(pd.Series(["15/02/2020", "2020/02/15"]), spec)
    with pytest.raises(DataError, match=r"column 'd', data row 1: 3.5 is not a date"):
        encode_date(pd.Series([3.5, np.nan]), spec)
    blank = encode_date(pd.Series([np.nan, np.nan]), spec)  # a column read as all blank
    assert blank.shape == (2, len(feature_names(spec)))


def test_the_specs_are_plain_json_and_survive_a_model_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = weather_frame(years=2)
    frame.loc[::20, "date"] = None
    frame.to_csv("w.csv", index=False)
    args = ["--data", "w.csv", "--target", "weather", "--epochs", 2, "--plot", "none"]
    assert main([str(a) for a in [*args, "--quiet", "--save", "w.npz"]]) == 0
    out = capsys.readouterr().out
    assert "date: date (year, month sin/cos," in out
    model = barenet.load("w.npz")
    spec = model.preprocessing.columns[0]
    assert spec["kind"] == "date" and spec["indicator"]
    again = Preprocessing.from_json(json.loads(json.dumps(model.preprocessing.to_json())))
    rows = pd.read_csv("w.csv").drop(columns="weather")
    np.testing.assert_array_equal(again.transform(rows), model.preprocessing.transform(rows))
    # predict: the rows as written, other formats of the same dates, a blank date
    new = rows.head(4).copy()
    new["date"] = ["2014-01-05", "2014-01-06T00:00:00Z", None, "2014-01-08"]
    new.to_csv("new.csv", index=False)
    assert main(["predict", "--model", "w.npz", "--data", "new.csv"]) == 0
    out, err = capsys.readouterr()
    answers = [row[0] for row in list(csv.reader(out.splitlines()))[1:]]
    assert answers == model.preprocessing.predict(model, new).tolist()
    assert err == (  # the table ends on 2013-12-31: 2014 dates are clipped to its range
        "Note: imputed 1 blank cell (date: 1); 3 dates were outside the training range, "
        "their year and days clipped to it (date: 3)\n"
    )


def seconds_since_1970(column) -> np.ndarray:
    """The ONNX graph's date input, as docs/table.md (ONNX) tells a user to build it."""
    stamps = pd.to_datetime(column, utc=True, format="ISO8601")
    return (
        ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1))
        .to_numpy(np.float64, na_value=np.nan)
        .reshape(-1, 1)
    )


def test_the_onnx_calendar_equals_numpys():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers, counter = [], [], iter(range(10**6))

    def constant(name, array, dtype=np.float32):
        initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name=name))
        return name

    def node(op, inputs, **attributes):
        output = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    parts = calendar(OnnxOps(node, constant, "c", TensorProto.DOUBLE), "seconds")
    names = list(parts)
    for name in names:
        nodes.append(helper.make_node("Identity", [parts[name]], [name]))
    graph = helper.make_graph(
        nodes,
        "calendar",
        [helper.make_tensor_value_info("seconds", TensorProto.DOUBLE, ["N", 1])],
        [helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["N", 1]) for name in names],
        initializer=initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    proto.ir_version = 9
    session = ort.InferenceSession(proto.SerializeToString())
    rng = np.random.default_rng(1)
    seconds = np.concatenate([rng.uniform(-11676096000, 13574563200, 50_000), [0, -1, 951868800]])
    seconds = seconds.reshape(-1, 1)
    outputs = dict(zip(names, session.run(names, {"seconds": seconds}), strict=True))
    expected = calendar(NumpyOps, seconds)
    for name in names:  # the same operations in float64: the same numbers
        np.testing.assert_allclose(outputs[name], expected[name], rtol=0, atol=1e-9, err_msg=name)


def test_onnx_takes_seconds_and_equals_barenet_predict(tmp_path, capsys, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.chdir(tmp_path)
    frame = weather_frame(years=2, seed=3)
    frame.loc[[5, 50], "date"] = None
    stamps = pd.to_datetime(frame["date"]) + pd.to_timedelta(np.arange(len(frame)) % 24, "h")
    frame["date"] = stamps.dt.strftime("%Y-%m-%dT%H:%M")  # hours vary: every part is used
    frame.to_csv("w.csv", index=False)
    args = ["--data", "w.csv", "--target", "weather", "--epochs", 3, "--quiet", "--plot", "none"]
    assert main([str(a) for a in [*args, "--save", "w.npz"]]) == 0
    assert main(["export-onnx", "--model", "w.npz", "--out", "w.onnx"]) == 0
    model = barenet.load("w.npz")
    assert model.preprocessing.columns[0]["parts"] == [
        "year",
        "month",
        "day",
        "weekday",
        "dayofyear",
        "hour",
    ]
    new = frame.drop(columns="weather").sample(40, random_state=0)
    new.loc[new.index[:2], "date"] = [None, "2015-06-30T23:59"]  # a blank, an unseen year
    new.loc[new.index[2], "temp_max"] = np.nan
    new.to_csv("new.csv", index=False)
    capsys.readouterr()
    assert main(["predict", "--model", "w.npz", "--data", "new.csv", "--proba"]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))[1:]

    session = ort.InferenceSession("w.onnx")
    types = {i.name: i.type for i in session.get_inputs()}
    assert types["date"] == "tensor(double)" and types["wind"] == "tensor(double)"
    feeds = {"date": seconds_since_1970(new["date"])}
    for name in ("precipitation", "temp_max", "temp_min", "wind"):
        feeds[name] = new[name].to_numpy(np.float64).reshape(-1, 1)
    probabilities, _, labels = session.run(None, feeds)
    assert labels.tolist() == [row[0] for row in rows]
    np.testing.assert_allclose(
        probabilities, [[float(v) for v in row[1:]] for row in rows], atol=1e-5
    )
    np.testing.assert_allclose(
        probabilities, model.preprocessing.probabilities(model, new), atol=1e-5
    )


def test_blank_targets_of_the_cars_table_are_left_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cars_frame(blank_targets=6).to_csv("cars.csv", index=False)
    args = ["--data", "cars.csv", "--target", "mpg", "--epochs", 3, "--plot", "none", "--json"]
    assert main([*map(str, args), "--save", "c.npz"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert "Note: left out 6 rows whose target 'mpg' is blank" in err
    assert summary["rows"]["train"] + summary["rows"]["test"] == 294
    assert summary["columns"]["date"] == ["model_year (year, days since 1970-01-01)"]
    assert main(["evaluate", "--model", "c.npz", "--data", "cars.csv"]) == 0
    out, err = capsys.readouterr()
    assert "Note: left out 6 rows whose target 'mpg' is blank" in err and "rmse:" in out
    assert "Note: imputed 5 blank cells (horsepower: 5)" in err


PANDAS_2 = int(pd.__version__.split(".")[0]) < 3
NANOSECOND_DATES = (
    "pandas 2 holds dates in nanoseconds: only years 1677 to 2262 (pandas 3: 1 to 9999)"
)


@pytest.mark.skipif(not PANDAS_2, reason="pandas 3 reads years 1 to 9999")
def test_with_pandas_2_a_date_outside_its_range_is_a_clear_data_error():
    column = pd.Series(["0001-01-01", "1970-01-02"])
    with pytest.raises(DataError, match=r"column 'd', data row 1: '0001-01-01' is not a date"):
        fit_date("d", column, ISO8601)


@pytest.mark.skipif(PANDAS_2, reason=NANOSECOND_DATES)
def test_dates_from_year_1_to_9999():
    column = pd.Series(["0001-01-01", "9999-12-31T12:00", None, "1970-01-02"])
    spec = fit_date("d", column, ISO8601)
    assert spec["origin_text"] == "0001-01-01" and spec["indicator"]
    x = encode_date(column, spec)
    np.testing.assert_array_equal(x[[0, 1, 3], 0], [1, 9999, 1970])  # the year feature
    objects = pd.Series([datetime.date(1, 1, 1), datetime.date(9999, 12, 31)])
    np.testing.assert_array_equal(to_seconds(objects, DATETIME, "d"), [-62135596800, 253402214400])
