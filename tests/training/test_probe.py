"""Recipe auto's probe: the small recipe with and without piecewise embeddings, the one of
lower validation loss kept, on the file route, the estimators and fit_model alike."""

import json

import numpy as np
import pandas as pd
import pytest

from barenet.cli import main
from barenet.sklearn.estimators import BarenetRegressor
from barenet.training import hyperparams, probe
from barenet.training.config import TrainConfig
from barenet.training.fitting import fit_model, resolve_config

EPOCHS = 40  # given, to keep the fits short: recipe auto keeps what is given


def step_rows(n=700, seed=0):
    """A target that jumps at a threshold of one feature: piecewise embeddings' case."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 5.0 * (x[:, 0] > 0.3) + 3.0 * (x[:, 1] > -0.5) + 0.1 * rng.normal(size=n)
    return x, y.reshape(-1, 1)


def best(fit) -> float:
    return float(np.nanmin(fit.model.history["val_loss"]))


def test_the_probe_keeps_the_candidate_of_lower_validation_loss_and_trains_it_again():
    x, y = step_rows()
    fit = fit_model(TrainConfig(recipe="auto", epochs=EPOCHS), x, y, task="regression", out_dim=1)
    plain = TrainConfig(recipe="small", epochs=EPOCHS)
    losses = {
        "none": best(fit_model(plain, x, y, task="regression", out_dim=1)),
        "piecewise": best(
            fit_model(plain.replace(embedding="piecewise"), x, y, task="regression", out_dim=1)
        ),
    }
    chosen = min(losses, key=losses.get)
    assert chosen == "piecewise"  # thresholds: what the embeddings are for
    assert fit.config.recipe == "small" and fit.config.embedding == chosen
    assert best(fit) == losses[chosen]  # the fit is the chosen candidate's, trained again
    assert fit.choice.startswith("recipe auto chose small (700 training rows < 1,000)")
    assert f"with piecewise embeddings (best validation loss {losses['piecewise']:.4g} with" in (
        fit.choice
    )


@pytest.mark.parametrize(
    ("config", "rows", "why"),
    [
        (TrainConfig(recipe="tabular"), 5000, "not the small recipe"),
        (TrainConfig(recipe="small"), 490, "49 validation rows, too few"),
        (TrainConfig(recipe="small", embedding="none"), 900, "its options are given"),
        (TrainConfig(recipe="small", time_limit=5.0), 900, "a time limit is given"),
        (TrainConfig(recipe="small", early_stopping=None), 900, "nothing selects"),
    ],
)
def test_when_the_probe_does_not_run(config, rows, why):
    assert why in probe.why_not(config, rows)


def test_the_probe_runs_from_fifty_validation_rows():
    """Held out as train_test_split holds them out: ceil(0.1 * rows), 50 from 491 rows."""
    assert hyperparams.AUTO_PROBE_MIN_VALIDATION == 50
    assert probe.why_not(TrainConfig(recipe="small"), 491) is None
    assert probe.why_not(TrainConfig(recipe="small"), 490) is not None


def test_a_small_table_the_probe_skips_says_why():
    x, y = step_rows(400)
    fit = fit_model(TrainConfig(recipe="auto", epochs=3), x, y, task="regression", out_dim=1)
    assert fit.config.embedding == "none" and fit.choice == (
        "recipe auto chose small (400 training rows < 1,000); "
        "no probe: 40 validation rows, too few to tell the candidates apart"
    )


def test_losses_that_round_alike_are_shown_with_more_digits():
    assert probe._shown([0.80491, 0.80489]) == ["0.80491", "0.80489"]
    assert probe._shown([0.5, 0.5]) == ["0.5", "0.5"]
    assert probe._shown([float("inf"), 0.25]) == ["diverged", "0.25"]


def test_an_embedding_given_is_kept_and_nothing_is_probed():
    x, y = step_rows()
    config = TrainConfig(recipe="auto", epochs=EPOCHS, embedding="none")
    rows = {"x": x, "y": y, "task": "regression", "out_dim": 1, "shrink_batch": False}
    resolved, why = resolve_config(config, len(x), rows)
    assert resolved.embedding == "none" and "piecewise" not in why


def test_without_rows_resolving_runs_no_probe():
    config, why = resolve_config(TrainConfig(recipe="auto"), 700)
    assert (
        config.embedding == "none" and why == "recipe auto chose small (700 training rows < 1,000)"
    )


def test_the_command_line_and_the_estimator_say_and_save_the_probes_choice(tmp_path, capsys):
    x, y = step_rows(900)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y[:, 0])
    path = tmp_path / "step.csv"
    frame.to_csv(path, index=False)
    model_path = tmp_path / "model.npz"
    argv = ["train", "--data", str(path), "--target", "target", "--json", "--plot", "none"]
    assert main([*argv, "--save", str(model_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "with piecewise embeddings (best validation loss" in summary["recipe_choice"]
    assert summary["config"]["embedding"] == "piecewise"  # the configuration trained
    assert summary["saved_model"]["refitted"]  # and refitted with it

    estimator = BarenetRegressor(recipe="auto", random_state=0).fit(
        frame[["a", "b", "c"]], frame["target"]
    )
    assert "piecewise embeddings (best validation loss" in estimator.recipe_choice_
    with_or_not = "with piecewise" in estimator.recipe_choice_
    assert (estimator.config_.embedding == "piecewise") == with_or_not


class _Fit:
    """A stand-in for ``fit_model``'s result: a model with a history."""

    def __init__(self, val_loss, interrupted=False):
        history = {"val_loss": val_loss}
        self.model = type("Model", (), {"history": history, "interrupted": interrupted})()


def test_ctrl_c_in_a_candidates_fit_stops_the_run_instead_of_choosing():
    """Ctrl-C stops only the candidate's own fit; the probe passes it on (the command
    line then says "interrupted", exit 130) rather than choosing from a cut-short fit."""
    config = TrainConfig(recipe="small")
    with pytest.raises(KeyboardInterrupt):
        probe.choose(config, "why", 900, lambda c: _Fit([0.5], interrupted=True))


def test_a_candidate_that_diverges_loses_and_is_named():
    from barenet.errors import TrainingDiverged

    def fit(candidate):
        if candidate.embedding == "piecewise":
            raise TrainingDiverged("diverged", 1, 0)
        return _Fit([0.4, 0.3])

    config, why = probe.choose(TrainConfig(recipe="small"), "why", 900, fit)
    assert config.embedding == "none"
    assert (
        why
        == "why, without piecewise embeddings (best validation loss diverged with, 0.3 without)"
    )


def test_the_command_line_says_it_probes_before_the_probes_silent_fits(tmp_path, capsys):
    x, y = step_rows(700)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=y[:, 0])
    frame.to_csv(tmp_path / "step.csv", index=False)
    argv = ["train", "--data", str(tmp_path / "step.csv"), "--target", "target"]
    assert main([*argv, "--plot", "none"]) == 0
    out = capsys.readouterr().out
    probing = out.index("Probing: the small recipe with and without piecewise embeddings")
    assert probing < out.index("Model: recipe auto chose small (560 training rows < 1,000), w")
