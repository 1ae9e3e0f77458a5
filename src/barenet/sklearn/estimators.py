"""scikit-learn estimators: ``BarenetRegressor`` and ``BarenetClassifier``.

They follow scikit-learn's conventions (hyper-parameters as constructor arguments,
learned attributes ending in ``_``) and pass its estimator checks. They take a pandas
DataFrame or a pyarrow Table as it comes (text, ``category`` and nullable columns,
blanks, dates) and preprocess it as ``barenet train --data`` does, features and target
standardised on the training rows (``barenet.sklearn.inputs``); arrays are numbers.
Their parameters are derived from ``barenet.training.hyperparams.PARAMS``, the same
names as ``barenet train``'s options (``hidden``, ``lr``, ``batch_size``...), except
``random_state`` for ``seed``.
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from barenet.activations import Softmax
from barenet.errors import BarenetTypeError, BarenetValueError
from barenet.sklearn.checks import check_no_missing_targets, check_two_classes
from barenet.sklearn.inputs import fit_inputs, inputs, warn_notes
from barenet.tables.columns import encoded_names
from barenet.tables.preprocessing import Preprocessing, standard_scaler
from barenet.tables.standardize import check_outputs, fit_scaler
from barenet.training import hyperparams
from barenet.training.config import TrainConfig
from barenet.training.fitting import fit_model
from barenet.training.sources import config_from_estimator

#: Renamed parameters, still accepted for one minor version: old name -> new name.
DEPRECATED = {"hidden_layer_sizes": "hidden"}
#: The version that drops the names in ``DEPRECATED``.
REMOVED_IN = "0.4"

#: (name, default) of every constructor parameter, in order; the deprecated ones last.
PARAMETERS = (
    [p.for_estimator for p in hyperparams.PARAMS]
    + [("verbose", False)]
    + [(old, None) for old in DEPRECATED]
)


#: scikit-learn's names for barenet's parameters (MLPRegressor's, mostly).
SKLEARN_NAMES = {
    "hidden_layer_sizes": "hidden",
    "learning_rate_init": "lr",
    "max_iter": "epochs",
    "alpha": "weight_decay",
    "solver": "optimizer",
    "validation_fraction": "val_fraction",
    "n_iter_no_change": "early_stopping",
}


def _same(value, default) -> bool:
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # e.g. an array compared with a tuple
        return False


def renamed_values(estimator) -> dict:
    """``{new name: value}`` for each deprecated parameter given (not None), with a
    ``FutureWarning`` naming the new spelling; an error if both spellings are given."""
    values = {}
    for old, new in DEPRECATED.items():
        value = getattr(estimator, old, None)
        if value is None:
            continue
        owner = type(estimator).__name__
        default = dict(PARAMETERS)[new]
        if not _same(getattr(estimator, new), default):
            raise BarenetValueError(
                f"{owner} got both {old}={value!r} and {new}={getattr(estimator, new)!r}: "
                f"{old} is the old name of {new}; give only {new}"
            )
        warnings.warn(
            f"{owner}({old}=...) is deprecated and will be removed in barenet {REMOVED_IN}; "
            f"use {new}=... instead",
            FutureWarning,
            stacklevel=5,  # the user's fit or partial_fit call
        )
        values[new] = value
    return values


def _suggestions(unknown, names) -> str:
    """``" (did you mean 'hidden' for 'hidden_layer_sizes'?)"``, or nothing."""
    hints = []
    for name in unknown:
        close = SKLEARN_NAMES.get(name) or next(
            iter(difflib.get_close_matches(name, names, n=1, cutoff=0.6)), None
        )
        if close is not None:
            hints.append(f"{close!r} for {name!r}")
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


class _BarenetEstimator(BaseEstimator):
    """Shared hyper-parameters and training of the two estimators."""

    _task = "regression"

    _extra: tuple = ()  # (name, default) of a subclass's own parameters

    def __init__(self, **params):
        names = self._parameters()
        unknown = sorted(set(params) - {name for name, _ in names})
        if unknown:
            raise BarenetTypeError(
                f"{type(self).__name__} got unknown parameter(s) {unknown}"
                + _suggestions(unknown, [name for name, _ in names])
                + f"; its parameters are {[name for name, _ in names]}"
            )
        for name, default in names:
            setattr(self, name, params.get(name, default))

    @classmethod
    def _parameters(cls) -> list:
        return PARAMETERS + list(cls._extra)

    def __init_subclass__(cls, **kwargs):
        """Give each estimator the signature scikit-learn reads its parameters from."""
        super().__init_subclass__(**kwargs)

        def __init__(self, **params):
            _BarenetEstimator.__init__(self, **params)

        __init__.__signature__ = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
                for name, default in cls._parameters()
            ]
        )
        cls.__init__ = __init__

    @staticmethod
    def _check_fit_params(owner: str, fit_params: dict) -> None:
        """``sample_weight`` refused by name (barenet's losses are unweighted), and any
        other keyword named."""
        if "sample_weight" in fit_params:
            raise BarenetTypeError(
                f"{owner}.fit does not support sample_weight: barenet's losses weigh every "
                "row alike. Repeat or resample rows in proportion to their weights instead"
            )
        if fit_params:
            raise BarenetTypeError(f"{owner}.fit got unexpected arguments {sorted(fit_params)}")

    def _rows(self, X, y, *, first: bool) -> tuple[np.ndarray, Preprocessing]:
        """``(x, preprocessing)``: the network's inputs for rows ``X``, by the
        preprocessing learned here (``first``) or by ``fit`` before (``partial_fit``)."""
        if y is None:  # scikit-learn's words, which its checks look for
            raise BarenetValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if first:
            x, prep = fit_inputs(self, X)
        else:
            check_is_fitted(self, "model_")
            x, prep = inputs(self, X, self.preprocessing_), self.preprocessing_
        check_consistent_length(x, y)
        return x, prep

    def _config(self) -> TrainConfig:
        """The training configuration (``training.sources.config_from_estimator``):
        with a ``recipe``, the parameters left at their defaults take its values; a
        deprecated spelling (``hidden_layer_sizes``) gives its value to the new one."""
        return config_from_estimator({**self.get_params(), **renamed_values(self)})

    def _fit(self, x, targets, prep: Preprocessing | None, *, incremental: bool):
        """Train on (x, targets) by ``barenet.training.fitting.fit_model``: a fresh network for
        the configured epochs, or, ``incremental`` (``partial_fit``), one more epoch of
        the current one. ``targets`` are what the loss takes (class indices or values);
        ``prep`` (a fresh fit's) is kept as ``preprocessing_`` and on the network, so
        ``barenet.save`` stores it and ``export_onnx`` exports it."""
        fresh = not incremental or not hasattr(self, "model_")
        config = self._config() if fresh else self.config_
        if incremental and config.selects_on_validation():
            raise BarenetValueError(
                "partial_fit cannot select on a validation split (early_stopping, "
                "schedule='plateau'): use fit"
            )
        out_dim = len(self.classes_) if self._task == "classification" else targets.shape[1]
        fit = fit_model(
            config,
            x,
            targets,
            task=self._task,
            out_dim=out_dim,
            model=None if fresh else self.model_,
            schedule=None if fresh else self._schedule,
            epochs=1 if incremental else None,
            shrink_batch=True,
            callbacks=[self._print_epoch] if self.verbose else [],
            verbose=self.verbose,
        )
        if fresh:
            self.config_, self.model_, self._schedule = fit.config, fit.model, fit.schedule
            self.preprocessing_ = self.model_.preprocessing = prep
        self.recipe_choice_ = fit.choice if fresh else getattr(self, "recipe_choice_", None)
        self.time_limit_cut_ = fit.time_cut
        history = self.model_.history
        self.loss_curve_ = list(history["train_loss"])
        self.validation_loss_curve_ = list(history["val_loss"])  # nan: no validation
        self.n_iter_ = self.model_.epoch
        return self

    @staticmethod
    def _print_epoch(model, epoch, logs):
        val = "" if logs["val_loss"] is None else f"  val {logs['val_loss']:.5f}"
        print(f"epoch {epoch}  train {logs['train_loss']:.5f}{val}")

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        tally = {}
        x = inputs(self, X, self.preprocessing_, tally)
        warn_notes(tally)  # once per predict: what was imputed, unseen, clipped
        outputs = self.model_.predict(x, engine=self.config_.engine)
        return check_outputs(outputs, np.arange(1, len(outputs) + 1), "outputs")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of the features the network takes, after the column encoding, in
        order: ``"size"``, ``"size_missing"``, ``"plan=basic"``, ``"plan=(other)"``,
        ``"sold_year"``... (for an array, ``feature_names_in_`` or ``x0, x1, ...``).
        ``input_features`` is ignored: the names are those learned by ``fit``."""
        check_is_fitted(self, "model_")
        prep = self.preprocessing_
        names = prep.feature_names if prep.columns is None else encoded_names(prep.columns)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class BarenetRegressor(RegressorMixin, _BarenetEstimator):
    """A barenet MLP as a scikit-learn regressor (single or multi-output).

    ``target_scaling=True`` (the default) trains on the target standardised with the
    training rows' mean and standard deviation, and predicts in its original units, as
    the command line does: a target in dollars trains as well as one in $100,000.

    Parameters
    ----------
    recipe, hidden, activation, init, loss, optimizer, lr, momentum, weight_decay,
    epochs, batch_size, dropout, batchnorm, clip_norm, schedule, early_stopping,
    val_fraction, time_limit, dtype, ...
        As ``barenet train``'s options of the same names (``barenet.training.hyperparams``;
        ``barenet train --help`` lists them all). ``recipe="auto"`` is the command
        line's default for tables: "small" below 1,000 training rows, else "tabular",
        its epochs decided by the rows, not the clock (``time_limit`` is a cap only if
        given); ``recipe_choice_`` says which. Below 1,000 rows its probe may add
        piecewise embeddings: a parameter left at its default, ``embedding="none"``
        included, is the recipe's to choose (``recipe="small"`` keeps them off).
        ``epochs=None`` takes the small-table rule of ``barenet train``.
        The defaults are the same, except ``optimizer="adam"``, ``lr=1e-3``,
        ``epochs=200`` and ``clip_norm=None``. Early stopping and the plateau schedule
        select on ``val_fraction`` of the rows (0.1 by default), held out.
    random_state : None, int or RandomState
        Seeds the weights, dropout and shuffling (``seed`` on the command line).
    verbose : bool
    target_scaling : bool, default True
        Standardise the target for training (predictions are in its original units).
    hidden_layer_sizes : tuple of int, optional
        Deprecated, removed in barenet 0.4: the old name of ``hidden`` (``fit`` warns
        with a ``FutureWarning`` and uses it as ``hidden``).

    Attributes
    ----------
    model_ : barenet.MLP
    loss_curve_, validation_loss_curve_ : list of float
        Losses on the standardised target when ``target_scaling``.
    y_mean_, y_scale_ : ndarray, shape (n_outputs,)
        The target's training mean and scale (0 and 1 without ``target_scaling``).
    recipe_choice_ : str or None
        Why ``recipe="auto"`` chose what it chose.
    time_limit_cut_ : str or None
        What ``time_limit`` cut, if it stopped training.
    preprocessing_ : barenet.tables.preprocessing.Preprocessing
        Raw rows to the network's inputs (a table's column encoding, the features'
        standardisation) and outputs to answers; also ``model_.preprocessing``, so
        ``barenet.save(self, path)`` stores it and ``export_onnx`` exports it.
    n_features_in_, feature_names_in_, n_iter_
    """

    _extra = (("target_scaling", True),)

    def fit(self, X, y, **fit_params):
        """Train on rows ``X`` (an array, a DataFrame or a pyarrow Table) and target ``y``
        (n_samples,) or (n_samples, n_outputs), numbers without blanks."""
        self._check_fit_params(type(self).__name__, fit_params)
        check_no_missing_targets(y)
        x, prep = self._rows(X, y, first=True)
        y = self._targets(y)
        self._y_1d = y.ndim == 1
        y = self._fit_target_scaling(y.reshape(len(y), -1))
        prep.scaler_y = standard_scaler(self.y_mean_, self.y_scale_)
        return self._fit(x, y, prep, incremental=False)

    @staticmethod
    def _targets(y) -> np.ndarray:
        """``y`` as numbers, (n,) or (n, n_outputs); non-finite values refused."""
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return y.astype(np.float64) if y.dtype.kind != "f" else y

    def _fit_target_scaling(self, y: np.ndarray) -> np.ndarray:
        """Learn the target's mean and scale from these rows; return y scaled."""
        n_outputs = y.shape[1]
        self.y_mean_, self.y_scale_ = np.zeros(n_outputs), np.ones(n_outputs)
        if self.target_scaling:
            y = np.asarray(y, dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                self.y_mean_, std = y.mean(axis=0), y.std(axis=0)
            if not (np.isfinite(self.y_mean_).all() and np.isfinite(std).all()):
                # a target around 1e200: its squares overflow; scale without squaring them
                scaler = fit_scaler(y, [f"y[:, {i}]" for i in range(n_outputs)], "y")
                self.y_mean_, std = scaler.mean_, scaler.scale_
            self.y_scale_ = np.where(std > 0, std, 1.0)
        return (y - self.y_mean_) / self.y_scale_

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing the current network.

        Every preprocessing decision is made on the first call and held fixed after it:
        the target's mean and scale (``y_mean_``, ``y_scale_``), the number of features,
        and the network's own input scaling and bins (``scaling``, ``embedding``),
        fitted on the first call's rows. Later calls only train. This is what dask-ml's
        ``Incremental`` calls, block by block, so give it a well-shuffled first block.
        """
        first = not hasattr(self, "model_")
        check_no_missing_targets(y)
        x, prep = self._rows(X, y, first=first)
        y = self._targets(y)
        if first:
            self._y_1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        if first:
            self._fit_target_scaling(y)  # the first batch's mean and scale, kept after
            prep.scaler_y = standard_scaler(self.y_mean_, self.y_scale_)
        return self._fit(x, (y - self.y_mean_) / self.y_scale_, prep, incremental=True)

    def predict(self, X):
        """Predictions in the target's units, shape (n_samples,) or (n_samples, n_outputs)."""
        output = self._outputs(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        check_outputs(output, np.arange(1, len(output) + 1))
        return output[:, 0] if self._y_1d else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class BarenetClassifier(ClassifierMixin, _BarenetEstimator):
    """A barenet MLP as a scikit-learn classifier, trained with softmax cross-entropy.

    Takes the same parameters as ``BarenetRegressor``; ``loss`` defaults to
    ``"cross_entropy"``. Adds ``classes_`` and ``predict_proba``.
    """

    _task = "classification"

    def fit(self, X, y, **fit_params):
        self._check_fit_params(type(self).__name__, fit_params)
        check_no_missing_targets(y)
        x, prep = self._rows(X, y, first=True)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        check_two_classes(self.classes_)
        prep = replace(prep, classes=list(self.classes_))
        return self._fit(x, self._encoder.transform(y), prep, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y). The first call needs ``classes``, all the labels.

        As for ``BarenetRegressor.partial_fit``, every preprocessing decision (the
        classes, the number of features, the network's input scaling and bins) is
        made on the first call and held fixed after it.
        """
        first = not hasattr(self, "model_")
        check_no_missing_targets(y)
        x, prep = self._rows(X, y, first=first)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise BarenetValueError("classes must be passed on the first call to partial_fit")
            check_no_missing_targets(classes, "classes")
            self._encoder = LabelEncoder().fit(classes)
            self.classes_ = self._encoder.classes_
            check_two_classes(self.classes_)
            prep = replace(prep, classes=list(self.classes_))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise BarenetValueError(
                f"labels {unknown.tolist()} are not in classes {self.classes_}"
            )
        return self._fit(x, self._encoder.transform(y), prep, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return Softmax().forward(self._outputs(X).astype(np.float64))

    def predict(self, X):
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]
