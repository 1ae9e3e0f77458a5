"""The command line speaks plainly: every command's --help opens with its purpose and
shows examples, every option says what it does, and a misspelled command or column
gets the closest names."""

import argparse
import subprocess
import sys

import pandas as pd
import pytest

from barenet import cli
from barenet._checks import close_names, did_you_mean
from barenet.cli.help_text import COMMANDS, misspelled_command
from barenet.errors import DataError
from barenet.tables.columns import missing_column_message, require_columns


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_a_purpose_line_and_examples():
    commands = subcommands()
    assert list(commands) == list(cli.COMMANDS) == list(COMMANDS)
    for name, parser in commands.items():
        purpose = (parser.description or "").split("\n")[0]
        assert purpose.endswith(".") and 20 < len(purpose) <= 90, (name, purpose)
        assert "\n\n" in parser.description, name  # a paragraph after the purpose line
        examples = (parser.epilog or "").splitlines()
        assert examples[0] == "examples:", name
        assert all(line.startswith("  barenet") for line in examples[1:]), name
        assert len(examples) >= 2, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_of_every_command_has_help(name):
    parser = subcommands()[name]
    for action in parser._actions:
        assert action.help and action.help.strip(), (name, action.option_strings)
        assert action.help != argparse.SUPPRESS, (name, action.option_strings)


def test_the_top_level_options_have_help():
    for action in cli.build_parser()._actions:
        assert action.help, action.option_strings


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_prints_the_purpose_first_and_the_examples_as_written(name, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([name, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    after_usage = out.split("\n\n")[1]
    assert after_usage == COMMANDS[name][0]
    for example in COMMANDS[name][2]:
        assert f"  {example}\n" in out  # not re-wrapped


def test_the_examples_parse():
    parser = cli.build_parser()
    for name, (_, _, examples) in COMMANDS.items():
        for example in examples:
            words = example.split("#")[0].split()[1:]
            words = [w.strip("'") for w in words]
            args = parser.parse_args(words or ["train"])
            assert (args.command or "train") == name, example


def test_the_tune_grid_option_gives_its_format():
    tune = subcommands()["tune"]
    grid = next(a for a in tune._actions if "--grid" in a.option_strings)
    assert '{"hidden": [[64, 64], [128]]' in grid.help and '"grid"' in grid.help


# --- did you mean --------------------------------------------------------------------


def test_a_misspelled_command_gets_the_closest_command(capsys):
    assert cli.main(["trian"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("barenet: 'trian' is not a command; did you mean 'train'?")
    assert misspelled_command(["evalute", "--model", "m.npz"], cli.COMMANDS).startswith(
        "barenet: 'evalute' is not a command; did you mean 'evaluate'?"
    )
    assert "did you mean" not in misspelled_command(["zzz"], cli.COMMANDS)
    for fine in ([], ["--epochs", "3"], ["predict", "--help"], ["--version"]):
        assert misspelled_command(fine, cli.COMMANDS) is None


def test_the_command_line_exits_2_on_a_misspelled_command():
    result = subprocess.run(
        [sys.executable, "-m", "barenet", "export-onx"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "did you mean 'export-onnx'?" in result.stderr and "Traceback" not in result.stderr


def test_close_names_ignore_case_underscores_and_far_names():
    names = ["Sale_Price", "Lot_Area", "Year_Built", "sale_condition"]
    assert close_names("SalePrice", names)[0] == "Sale_Price"
    assert close_names("year built", names) == ["Year_Built"]
    assert close_names("zzzz", names) == []
    assert did_you_mean("SalePrice", names) == "did you mean 'Sale_Price'?"
    two = did_you_mean("ab", ["abc", "xyz", "abd"])
    assert two in ("did you mean 'abc' or 'abd'?", "did you mean 'abd' or 'abc'?")


def test_a_missing_column_among_many_is_one_short_line_with_the_closest():
    columns = [f"Feature_{i:03d}_of_the_table" for i in range(80)] + ["Sale_Price"]
    frame = pd.DataFrame(columns=columns)
    with pytest.raises(DataError) as error:
        require_columns(frame, ["SalePrice"], "ames.csv")
    message = str(error.value)
    assert message == "ames.csv: no column 'SalePrice'; did you mean 'Sale_Price'? (81 columns)"
    far = missing_column_message("qqq", columns, "ames.csv")
    assert far.startswith("ames.csv: no column 'qqq' and none spelled like it among its 81")
    assert len(far) < 250
    short = missing_column_message("qqq", ["a", "b"], "t.csv")
    assert short == "t.csv: no column 'qqq'; the columns are ['a', 'b']"


def test_train_suggests_the_target_column(tmp_path, capsys):
    path = tmp_path / "houses.csv"
    pd.DataFrame({"Lot_Area": range(30), "Sale_Price": range(30)}).to_csv(path, index=False)
    code = cli.main(["train", "--data", str(path), "--target", "SalePrice", "--plot", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"barenet train: error: {path}: no column 'SalePrice'; did you mean 'Sale_Price'? "
        "(2 columns)"
    )
