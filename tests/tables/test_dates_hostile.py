"""Date columns written by a careless or hostile user (issue 30, item 4): relative words,
time-zone spellings, long fractions of a second, dates far outside the training range
(clipped, in NumPy and in ONNX, and counted), odd values in a date column, and the
row-id rule with blank targets."""

import csv
import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import barenet
from barenet.cli import main
from barenet.cli.data_args import split_table
from barenet.errors import BarenetError, DataError
from barenet.tables.calendar import onnx_date_features
from barenet.tables.columns import encode, fit_columns, tally_notice
from barenet.tables.date_text import parse, zones_read
from barenet.tables.dates import (
    ISO8601,
    date_format,
    encode_date,
    find_date,
    fit_date,
    settle_odd_dates,
    to_seconds,
)

DAY = 86400.0

# pandas 2 reads timestamps of years 1677 to 2262 only (pandas 3 reads 1 to 9999): the
# dates "far" from the 2012-2016 training range are chosen inside what pandas reads
PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
EARLY, LATE, LAST = ("0001", "2300", "9999") if PANDAS_3 else ("1700", "2200", "2261")
YEARS = (2, 9998) if PANDAS_3 else (1678, 2261)


def iso_days(start="2020-01-01", n=40):
    return list(pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d"))


@pytest.mark.parametrize("word", ["now", "today", "Today", "tomorrow", "yesterday", "NOW"])
def test_relative_words_are_never_dates(word):
    assert date_format(pd.Series([word, "today", word] * 10, dtype=object)) is None
    column = pd.Series(iso_days(n=3) + [word], dtype=object)
    assert find_date(column) is None  # one odd value among 3 dates: not a date column
    spec = fit_date("d", pd.Series(iso_days()), ISO8601)
    with pytest.raises(DataError, match=rf"'{word}' is not a date .*never read as the clock"):
        encode_date(pd.Series([word]), spec)


def test_a_column_of_relative_words_is_text_at_training(tmp_path):
    frame = pd.DataFrame({"when": ["now", "today"] * 20, "x": np.arange(40.0) % 7})
    specs, dropped = fit_columns(frame)
    assert [s["kind"] for s in specs] == ["category", "numeric"]
    assert specs[0]["levels"] == ["now", "today"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2020-03-01 10:00 utc", "2020-03-01T10:00Z"),
        ("2020-03-01 10:00 UTC", "2020-03-01T10:00Z"),
        ("2020-03-01T10:00z", "2020-03-01T10:00Z"),
        ("2020-03-01 10:00 gmt", "2020-03-01T10:00Z"),
        ("2020-03-01 10:00 +01:00", "2020-03-01T09:00Z"),
        ("2020-03-01T10:00:00-0530", "2020-03-01T15:30Z"),
        ("2020-03-01 10:00:00.1234567", "2020-03-01T10:00:00.123456Z"),
        ("2020-03-01T10:00:00.123456789Z", "2020-03-01T10:00:00.123456Z"),
        ("2020-03-01 10:00 Europe/Paris", "2020-03-01T09:00Z"),  # winter: +01:00
        ("2020-07-01T10:00:00 America/Argentina/Buenos_Aires", "2020-07-01T13:00Z"),
    ],
)
def test_time_zone_spellings_and_long_fractions_are_read(value, expected):
    truth = pd.Timestamp(expected).timestamp()
    for fmt in (ISO8601, "%d/%m/%Y", "%Y-%m-%d %H:%M %Z"):  # the model's training format
        seconds = to_seconds(pd.Series([value], dtype=object), fmt, "d")
        assert seconds[0] == pytest.approx(truth, abs=1e-6), fmt


def test_a_column_of_dates_with_zone_names_trains_as_dates_read_in_utc():
    # issue 30: it was left out as "no category has 5 rows", as docs/table.md said it was read
    days = [f"2021-{m:02d}-{d:02d} 10:00 Europe/Paris" for m in (1, 7) for d in range(1, 21)]
    frame = pd.DataFrame({"when": days, "x": np.arange(40.0) % 7})
    specs, dropped = fit_columns(frame)
    assert dropped == [] and specs[0]["kind"] == "date" and specs[0]["format"] == ISO8601
    seconds = to_seconds(frame["when"], ISO8601, "when")
    summer = pd.Timestamp("2021-07-01T08:00Z").timestamp()  # 10:00 at +02:00
    assert seconds[0] == pd.Timestamp("2021-01-01T09:00Z").timestamp() and seconds[20] == summer
    with pytest.raises(DataError, match=r"'2021-07-01 10:00 CET' is not a date.*IANA name.*CET"):
        encode(pd.DataFrame({"when": ["2021-07-01 10:00 CET"], "x": [1.0]}), specs)


@pytest.mark.parametrize("zone", ["CET", "Mars/Olympus", "europe/paris", "EST", "Japan"])
def test_a_column_of_dates_with_zones_not_read_says_so_when_left_out(zone):
    days = [f"2021-05-{d % 28 + 1:02d} {d % 24:02d}:00 {zone}" for d in range(40)]
    specs, dropped = fit_columns(pd.DataFrame({"when": days, "x": np.arange(40.0) % 7}))
    assert [s["name"] for s in specs] == ["x"]
    assert dropped == [
        f"when (dates with a time zone that is not read, e.g. '2021-05-01 00:00 {zone}' "
        "(data row 1): write the zone as an offset (+01:00), Z, UTC or an IANA name "
        "(Europe/Paris) to use it as a date column)"
    ]


def test_a_time_without_offset_after_one_with_an_offset_is_read_in_utc():
    # pandas 2 read it at the offset before it: 2019-12-31T23:00Z
    texts = ["2020-01-01T00:00:00", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00"]
    texts += ["2020-01-01 05:30-0530", "2020-01-01 00:00", "2020-01-01", "2020-01-01T00:00Z"]
    seconds = to_seconds(pd.Series(texts), ISO8601, "d")
    np.testing.assert_array_equal(
        seconds,
        [pd.Timestamp("2020-01-01").timestamp()] * 3
        + [pd.Timestamp("2020-01-01T11:00").timestamp()]
        + [pd.Timestamp("2020-01-01").timestamp()] * 3,
    )


def test_nanoseconds_do_not_hide_early_dates():
    # pandas reads a batch holding 7 fractional digits in ns, where year 2 cannot be
    early = "0002" if PANDAS_3 else "1700"
    texts = pd.Series([f"{early}-01-01T00:00:00", f"{early}-01-01T00:00:00.0000007", "2020-01-01"])
    expected = [pd.Timestamp(f"{early}-01-01").timestamp()] * 2
    expected.append(pd.Timestamp("2020-01-01").timestamp())
    np.testing.assert_array_equal(to_seconds(texts, ISO8601, "d"), expected)


@pytest.mark.parametrize(
    "value", ["2020-03-01 10:00 Mars/Olympus", "2020-03-01 10:00 UTC+01:00", "10:00 utc"]
)
def test_a_time_zone_pandas_cannot_read_is_a_clear_error(value):
    for fmt in (ISO8601, "%Y-%m-%d %H:%M %Z"):
        with pytest.raises(DataError, match=r"data row 1: .* is not a date"):
            to_seconds(pd.Series([value], dtype=object), fmt, "d")


@pytest.mark.parametrize(
    "value",
    [
        "2021-05-01 10:00 CET",  # pandas 2 and 3 read it with %Z as summer time (08:00Z)
        "2021-05-01 10:00 europe/paris",  # pandas 2 (pytz) reads any case of a name
        "2021-05-01 10:00 EST",
        "2021-05-01 10:00 AM CET",
        "2021-05-01 10:00:00.5 Japan",
    ],
)
def test_an_abbreviated_or_misspelled_zone_is_no_date_whatever_the_format(value):
    # the zone is looked at before pandas reads the value: pandas 2 and 3 agree
    for fmt in (ISO8601, "%Y-%m-%d %H:%M %Z", "%Y-%m-%d %H:%M CET", "%Y-%m-%d %H:%M %p %Z"):
        assert np.isnan(parse(pd.Series([value], dtype=object), fmt)[0]), fmt
        with pytest.raises(DataError, match=r"data row 1: .* is not a date.*IANA name"):
            to_seconds(pd.Series([value], dtype=object), fmt, "d")


def test_a_day_first_model_refuses_a_zone_abbreviation_at_predict():
    days = [f"{d:02d}/05/2021 10:00 UTC" for d in range(1, 29)]
    spec = fit_date("d", pd.Series(days), find_date(pd.Series(days))[0])
    assert spec["format"] == "%d/%m/%Y %H:%M %Z"
    assert encode_date(pd.Series(["02/05/2021 10:00 UTC", "03/05/2021 11:30 GMT"]), spec).size
    with pytest.raises(DataError, match=r"'02/05/2021 10:00 CET' is not a date.*CET"):
        encode_date(pd.Series(["02/05/2021 10:00 CET"]), spec)


def test_am_pm_and_iana_names_are_still_read():
    texts = pd.Series(["2021-01-05 10:00 PM", "2021-01-05 10:00 AM Europe/Paris"])
    assert parse(texts, "%Y-%m-%d %I:%M %p")[0] == pd.Timestamp("2021-01-05T22:00Z").timestamp()
    assert zones_read(texts).all()
    names = pd.Series(["2021-07-01 10:00 Etc/GMT+1", "1959-07-01T10:00 Europe/London"])
    expected = [pd.Timestamp(t).timestamp() for t in ("2021-07-01T11:00Z", "1959-07-01T09:00Z")]
    np.testing.assert_array_equal(to_seconds(names, ISO8601, "d"), expected)


def test_seven_fractional_digits_at_predict_on_a_day_first_model(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    days = pd.date_range("2019-01-01", periods=120, freq="D")
    x = rng.normal(size=len(days))
    frame = pd.DataFrame({"d": days.strftime("%d/%m/%Y"), "x": x, "y": x + days.month})
    frame.to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "y", "--epochs", "1", "--plot", "none", "--quiet"]
    assert main([*args, "--save", "m.npz"]) == 0
    assert barenet.load("m.npz").preprocessing.columns[0]["format"] == "%d/%m/%Y"
    with open("p.csv", "w") as f:
        f.write("d,x\n2019-02-03T04:05:06.1234567,0\n2019-02-03T04:05:06.123456,0\n")
    capsys.readouterr()
    assert main(["predict", "--model", "m.npz", "--data", "p.csv"]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))[1:]
    assert rows[0] == rows[1]


def spec_2012_2016():
    column = pd.Series(pd.date_range("2012-01-01", "2016-12-31", freq="7D").strftime("%Y-%m-%d"))
    return fit_date("d", column, ISO8601)


def test_dates_outside_the_training_range_are_clipped_and_counted():
    spec = spec_2012_2016()
    assert spec["end_text"] == "2016-12-25" and spec["parts"][0] == "year"
    far = pd.Series([f"{EARLY}-06-15", f"{LATE}-06-15", f"{LAST}-06-15", "2014-06-15", None])
    tally = {}
    x = encode_date(far, spec, tally)
    assert tally == {"imputed": 1, "clipped": 3}
    low, high = encode_date(pd.Series([spec["origin_text"], spec["end_text"]]), spec)
    np.testing.assert_array_equal(x[0, [0, -1]], low[[0, -1]])  # year and days
    np.testing.assert_array_equal(x[[1, 2]][:, [0, -1]], [high[[0, -1]]] * 2)
    june = encode_date(pd.Series(["2014-06-15"]), spec)[0]
    np.testing.assert_allclose(x[1, 1:3], june[1:3], atol=1e-12)  # the month is kept
    assert 0 <= x[3, -1] <= high[-1]  # a date inside the range is not clipped
    line = tally_notice({"d": {"imputed": 0, "unseen": 0, "examples": [], "clipped": 3}})
    assert (
        line == "3 dates were outside the training range, their year and days clipped to it (d: 3)"
    )


def test_a_model_file_before_the_clip_keeps_its_encoding():
    spec = spec_2012_2016()
    old = {k: v for k, v in spec.items() if k not in ("end", "end_text", "blank_values")}
    tally = {}
    x = encode_date(pd.Series([f"{LATE}-06-15"]), old, tally)
    assert tally == {"imputed": 0} and x[0, 0] == int(LATE)


def test_the_onnx_graph_clips_as_numpy_does():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    spec = spec_2012_2016()
    nodes, initializers, counter = [], [], iter(range(10**6))

    def constant(name, array, dtype=np.float32):
        initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name=name))
        return name

    def node(op, inputs, **attributes):
        output = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    values = onnx_date_features(spec, "seconds", node, constant, TensorProto.DOUBLE)
    nodes.append(helper.make_node("Concat", values, ["features"], axis=1))
    graph = helper.make_graph(
        nodes,
        "dates",
        [helper.make_tensor_value_info("seconds", TensorProto.DOUBLE, ["N", 1])],
        [helper.make_tensor_value_info("features", TensorProto.DOUBLE, ["N", len(values)])],
        initializer=initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    proto.ir_version = 9
    session = ort.InferenceSession(proto.SerializeToString())
    texts = pd.Series(
        [f"{EARLY}-01-01", "1999-12-31T23:59", "2014-06-15", f"{LATE}-06-15", f"{LAST}-12-31"]
    )
    seconds = to_seconds(texts, ISO8601, "d").reshape(-1, 1)
    (graph_features,) = session.run(["features"], {"seconds": seconds})
    np.testing.assert_allclose(graph_features, encode_date(texts, spec), rtol=0, atol=1e-9)


def test_predict_says_how_many_dates_were_clipped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    days = pd.date_range("2015-01-01", periods=200, freq="D")
    x = rng.normal(size=len(days))
    frame = pd.DataFrame({"d": days.strftime("%Y-%m-%d"), "x": x, "y": x + np.arange(200) / 50})
    frame.to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "y", "--epochs", "2", "--plot", "none", "--quiet"]
    assert main([*args, "--save", "m.npz"]) == 0
    far = [f"{EARLY}-01-01", f"{LATE}-01-01", f"{LAST}-12-31", "2015-03-01"]
    pd.DataFrame({"d": far, "x": 0.0}).to_csv("p.csv", index=False)
    capsys.readouterr()
    assert main(["predict", "--model", "m.npz", "--data", "p.csv"]) == 0
    out, err = capsys.readouterr()
    assert "3 dates were outside the training range, their year and days clipped" in err
    answers = np.array([float(r[0]) for r in list(csv.reader(out.splitlines()))[1:]])
    assert np.abs(answers).max() < 100  # the target is in [-3, 7]; unclipped, thousands


@pytest.mark.parametrize("odd", ["?", "2020/01/05", "now", "0"])
def test_one_odd_value_is_named_and_read_as_blank(tmp_path, capsys, monkeypatch, odd):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2)
    dates = pd.Series(iso_days(n=300))
    dates[41] = odd
    x = rng.normal(size=300)
    frame = pd.DataFrame({"d": dates, "x": x, "y": x + np.arange(300) / 100})
    frame.to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "y", "--epochs", "1", "--plot", "none"]
    assert main([*args, "--save", "m.npz"]) == 0
    out = capsys.readouterr().out
    assert (
        f"Note: column 'd': 1 value is not a date like its other 299 values and is read as "
        f"blank: {odd!r} (data row 42)"
    ) in out
    assert "date: d (" in out and "dropped: d" not in out
    assert main(["evaluate", "--model", "m.npz", "--data", "t.csv"]) == 0
    assert "imputed 1 blank cell (d: 1)" in capsys.readouterr().err


def test_the_odd_value_of_a_test_row_is_read_as_blank_too():
    dates = pd.Series(iso_days(n=100))
    dates[7] = "?"
    train = dates.drop(index=7)
    specs, _ = fit_columns(pd.DataFrame({"d": train}))
    assert specs[0]["blank_values"] == []
    notices = settle_odd_dates(specs, pd.DataFrame({"d": dates}))
    assert specs[0]["blank_values"] == ["?"] and "'?' (data row 8)" in notices[0]
    assert np.isnan(to_seconds(dates, ISO8601, "d", ["?"])[7])


def test_many_odd_values_are_not_a_date_column_and_the_note_names_them():
    dates = pd.Series(iso_days(n=100))
    dates[[3, 5]] = ["?", "n/a"]  # two odd rows in 100: more than 1%
    assert find_date(dates) is None
    specs, dropped = fit_columns(pd.DataFrame({"d": dates, "x": np.arange(100) % 3}))
    assert [s["name"] for s in specs] == ["x"]
    assert dropped == [
        "d (mostly dates (ISO8601), but 2 values are not, e.g. '?' (data row 4), 'n/a' "
        "(data row 6): correct them, or leave those cells empty, to use it as a date column)"
    ]
    labels = pd.Series(["a", "b", "c", "?"] * 2)  # no date among them: the usual reason
    assert fit_columns(pd.DataFrame({"t": labels}))[1] == ["t (no category has 5 rows)"]


def test_the_row_id_rule_runs_before_blank_targets_are_left_out():
    n = 60
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    y = pd.Series(x * 2)
    y[10] = np.nan
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "x": x})
    split = split_table(frame, y, "y", task="regression")
    assert split.report["columns"]["dropped"] == ["id (a row id: consecutive integers)"]
    assert "left out 1 row whose target 'y' is blank" in split.report["notices"]


# -- a fuzz test over date strings -------------------------------------------------

ZONES = {"": 0, "Z": 0, "z": 0, " utc": 0, " UTC": 0, " GMT": 0, "+01:00": 3600, "-0530": -19800}
POISON = ["now", "today", "tomorrow", "?", "2020-01-01 10:00 Mars/Olympus", "10000-01-01"]


@st.composite
def stamps(draw, years):
    year = draw(years)
    when = datetime.datetime(year, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    return when + datetime.timedelta(
        seconds=draw(st.integers(0, 86399)), microseconds=draw(st.integers(0, 999999))
    )


@st.composite
def spelled(draw, stamp):
    """A spelling of ``stamp`` (naive UTC) and the seconds it means."""
    zone = draw(st.sampled_from(sorted(ZONES)))
    local = stamp + datetime.timedelta(seconds=ZONES[zone])
    sep = draw(st.sampled_from(["T", " "]))
    digits = draw(st.integers(0, 9))
    fraction = ("." + f"{local.microsecond:06d}{'789'}"[:digits]) if digits else ""
    text = f"{local.year:04d}-{local:%m-%d}{sep}{local:%H:%M:%S}{fraction}{zone}"
    truth = stamp.replace(
        microsecond=int(f"{local.microsecond:06d}"[: min(digits, 6)].ljust(6, "0"))
    )
    return text, (truth - datetime.datetime(1970, 1, 1)).total_seconds()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_date_strings(data):
    train_stamps = data.draw(st.lists(stamps(st.integers(1900, 2100)), min_size=25, max_size=40))
    zone = data.draw(st.sampled_from(sorted(ZONES)))
    train = [f"{s:%Y-%m-%dT%H:%M:%S}{zone}" for s in train_stamps]
    poisoned = data.draw(st.booleans())
    if poisoned:
        train[data.draw(st.integers(0, len(train) - 1))] = data.draw(st.sampled_from(POISON))
    frame = pd.DataFrame({"d": train, "x": np.arange(len(train)) % 3})
    notices = []
    try:
        specs, _ = fit_columns(frame)
        notices = settle_odd_dates(specs, frame)
        encode(frame, specs)
    except BarenetError:
        return
    spec = next((s for s in specs if s["name"] == "d"), None)
    if spec is None or spec["kind"] != "date":
        return
    assert bool(notices) == bool(spec["blank_values"]) == poisoned
    dates = data.draw(st.lists(stamps(st.integers(*YEARS)), min_size=1, max_size=20))
    predict = [data.draw(spelled(s)) for s in dates]
    texts = pd.Series([t for t, _ in predict], dtype=object)
    truth = np.array([s for _, s in predict])
    tally = {}
    first = encode(pd.DataFrame({"d": texts, "x": 0}), specs, tally)
    again = encode(pd.DataFrame({"d": texts, "x": 0}), specs)
    np.testing.assert_array_equal(first, again)  # the clock is never read
    seconds = to_seconds(texts, spec["format"], "d")
    np.testing.assert_allclose(seconds, truth, rtol=0, atol=1e-3)  # float64 near year 9999
    outside = int(((truth < spec["origin"]) | (truth > spec["end"])).sum())
    assert tally["d"]["clipped"] == outside
    event(f"poisoned training rows: {poisoned}; some dates clipped: {outside > 0}")
    word = data.draw(st.sampled_from(POISON))
    if word not in spec["blank_values"]:
        with pytest.raises(BarenetError):
            encode(pd.DataFrame({"d": [word], "x": 0}), specs)
