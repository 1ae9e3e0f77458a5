"""The data options shared by ``barenet train`` and ``barenet tune``, and the loading
they describe: a built-in data set or a CSV file, split as the notebook does."""

from __future__ import annotations

from pathlib import Path

from barenet.datasets import BUILTIN, csv_header, load_builtin, preprocess, read_csv
from barenet.errors import BarenetValueError


def add_data_arguments(parser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=BUILTIN,
        help="a built-in data set (default: california)",
    )
    data.add_argument("--data", metavar="PATH.csv", help="a numeric CSV file with a header row")
    data.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    data.add_argument(
        "--features", metavar="A,B,C", help="CSV feature columns (default: all other columns)"
    )
    data.add_argument(
        "--task",
        choices=["regression", "classification"],
        help="for --data (default: regression)",
    )
    data.add_argument(
        "--test-size", type=float, default=0.2, help="held-out test fraction (default: 0.2)"
    )
    data.add_argument(
        "--data-home",
        help="scikit-learn's data folder (default: $SCIKIT_LEARN_DATA or ~/scikit_learn_data)",
    )


def load_data(args):
    """``(name, split)``: the preprocessed split of ``--dataset`` or ``--data``."""
    if args.data and args.dataset:
        raise BarenetValueError("give either --dataset or --data, not both")
    for option in ("target", "features", "task"):
        if getattr(args, option) and not args.data:
            raise BarenetValueError(
                f"--{option} is for --data; the built-in data sets have theirs"
            )
    if not 0 < args.test_size < 1:
        raise BarenetValueError(f"--test-size must be between 0 and 1, got {args.test_size}")
    if not args.data:
        name = args.dataset or "california"
        return name, load_builtin(name, data_home=args.data_home, test_size=args.test_size)
    if not args.target:
        raise BarenetValueError("--data needs --target COLUMN (the column to predict)")
    features = (
        args.features.split(",")
        if args.features
        else [c for c in csv_header(args.data) if c != args.target]
    )
    if args.target in features:
        raise BarenetValueError(f"the target column {args.target!r} is also listed as a feature")
    _, table = read_csv(args.data, columns=[*features, args.target])
    split = preprocess(
        table[:, :-1],
        table[:, -1],
        test_size=args.test_size,
        random_state=42,
        classification=args.task == "classification",
        feature_names=features,
        target_name=args.target,
    )
    return Path(args.data).name, split
