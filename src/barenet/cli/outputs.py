"""Outputs never touch inputs: the one rule every command checks before any work.

Each command collects the paths it reads (``--data`` and the files a folder or glob
matches, ``--model``, ``--resume``) and the paths it writes (``--out``, ``--save``,
``--checkpoint``, plots, the ONNX file), and calls ``check_run_paths`` before it reads
data or trains. Every path is resolved (symlinks, ``./``, ``..``) and an output is
refused, with a ``BarenetValueError`` naming both paths and the fix, when it is:

- an input of the run (the data, the model, a checkpoint to resume, any file a folder
  or glob input matches);
- another output of the same run (``--save X --checkpoint X``);
- an existing folder where a file is written (or, for a folder written whole, any
  existing path);
- inside an input folder, or matched by an input glob (the next run would read it);
- not writable: its folder is missing, is not a folder, or is read-only.

The one exception: ``--checkpoint`` may name the ``--resume`` checkpoint, since a
continued run updates its own checkpoint (read whole before training starts).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from barenet.errors import BarenetValueError

STDIN = "-"
# what names a file, not the folder of Parquet parts a streamed predict writes
FILE_SUFFIXES = {
    ".csv", ".tsv", ".txt", ".parquet", ".pq", ".json", ".jsonl", ".npz", ".npy", ".xlsx",
    ".xls", ".feather", ".arrow", ".gz", ".zip", ".pkl", ".h5", ".dat", ".onnx",
}  # fmt: skip


@dataclass(frozen=True)
class Output:
    """One path a run writes: its option, the path as given, and whether it is a file
    or a folder written whole (``predict --data FOLDER --out OUT``)."""

    flag: str
    path: str
    folder: bool = False


def refuse_stdin(flag: str, path) -> None:
    """``--data -``: barenet reads files, not standard input; say so and how."""
    if str(path).strip() == STDIN:
        raise BarenetValueError(
            f"{flag} -: reading rows from standard input is not supported; save them to a "
            "CSV or Parquet file (for example: cat > rows.csv) and give its path"
        )


def _resolved(path) -> Path:
    return Path(str(path)).resolve()  # as written: barenet opens paths without expanding ~


def _input_sets(inputs):
    """``(files, folders, globs)``: each input file resolved with its option; each
    input folder resolved; each glob as ``(flag, resolved base, rest of the pattern)``."""
    from barenet.streaming.source import GLOB_CHARS, dataset_files, is_dataset_path

    files, folders, globs = {}, [], []
    for flag, path in inputs:
        if path is None:
            continue
        refuse_stdin(flag, path)
        text = str(path)
        if flag == "--data" and is_dataset_path(text):
            if Path(text).is_dir():
                folders.append((flag, text, _resolved(text)))
            else:
                parts = Path(text).parts
                first = next(i for i, p in enumerate(parts) if any(c in p for c in GLOB_CHARS))
                base = Path(*parts[:first]) if first else Path(".")
                globs.append((flag, text, _resolved(base), parts[first:]))
            try:
                matched = dataset_files(text)[0]
            except BarenetValueError:  # no files: the reader says so, after this check
                matched = []
            for file in matched:
                files.setdefault(_resolved(file), (flag, f"{text} (its file {file})"))
        else:
            files.setdefault(_resolved(text), (flag, text))
    return files, folders, globs


def _matches(path: Path, base: Path, rest) -> bool:
    """Whether ``path`` (resolved) is one a glob (``base`` resolved, then the
    pattern's parts ``rest``) would match: generously, any ``**`` taking any folders."""
    try:
        relative = path.relative_to(base).parts
    except ValueError:
        return False
    if "**" not in rest:
        return len(relative) == len(rest) and all(
            fnmatch.fnmatchcase(part, pattern)
            for part, pattern in zip(relative, rest, strict=True)
        )
    pattern, text = "/".join(rest), "/".join(relative)
    return fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(
        text, pattern.replace("**/", "*")
    )


def _check_writable(flag: str, given: str, path: Path, folder: bool) -> None:
    if folder and (path.exists() or Path(given).is_symlink()):
        raise BarenetValueError(f"{flag} {given}: already exists; give a new folder name")
    if path.is_dir():
        raise BarenetValueError(
            f"{flag} {given}: is an existing folder, and a file is written there; give a "
            "file name (such as a name inside that folder)"
        )
    parent = path.parent
    if not parent.exists():
        raise BarenetValueError(
            f"{flag} {given}: cannot write there, its folder does not exist ({parent}); "
            "create it first or give another path"
        )
    if not parent.is_dir():
        raise BarenetValueError(f"{flag} {given}: cannot write there, {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BarenetValueError(
            f"{flag} {given}: cannot write there, the folder {parent} is read-only; "
            "give a path in a folder you can write to"
        )


def _check_one(output: Output, resolved: Path, files, folders, globs, written, resume) -> None:
    flag, given = output.flag, output.path
    clash = files.get(resolved)
    if clash is not None and not (flag == "--checkpoint" and resolved == resume):
        raise BarenetValueError(
            f"{flag} {given} is the input {clash[0]} {clash[1]}: writing it would destroy "
            "that input; give another path"
        )
    if resolved in written:
        other = written[resolved]
        raise BarenetValueError(
            f"{flag} {given} is also {other.flag} {other.path}: one would replace the "
            "other; give each output its own path"
        )
    for in_flag, text, folder in folders:
        if resolved == folder or folder in resolved.parents:
            raise BarenetValueError(
                f"{flag} {given} is inside the input folder {in_flag} {text}: the next run "
                "on that folder would read it as data; write it outside the folder"
            )
    for in_flag, text, base, rest in globs:
        probes = [resolved, resolved / "part-00000.parquet"] if output.folder else [resolved]
        if any(_matches(probe, base, rest) for probe in probes):
            raise BarenetValueError(
                f"{flag} {given} is matched by the input {in_flag} {text}: the next run "
                "would read it as data; write it where the pattern does not reach"
            )
    _check_writable(flag, given, resolved, output.folder)


def check_run_paths(inputs, outputs) -> None:
    """Refuse, before any work, an output that would touch an input (see the module).

    Parameters
    ----------
    inputs : iterable of (str, str or None)
        ``(option, path)`` of each path the run reads; None for an option not given.
        ``--data`` may be a folder or a glob.
    outputs : iterable of Output
        Each path the run writes (an ``Output`` whose path is None or empty is skipped).
    """
    inputs = list(inputs)
    files, folders, globs = _input_sets(inputs)
    resume = next((_resolved(p) for f, p in inputs if f == "--resume" and p), None)
    written = {}
    for output in outputs:
        if not output.path:
            continue
        resolved = _resolved(output.path)
        _check_one(output, resolved, files, folders, globs, written, resume)
        written[resolved] = output


def train_outputs(args, streamed: bool) -> list[Output]:
    """The files ``barenet train`` writes (on a table in memory or ``streamed`` alike:
    both draw their plots)."""
    plot = getattr(args, "plot", None)
    return [
        Output("--save", args.save),
        Output("--checkpoint", args.checkpoint),
        Output("--plot", None if plot == "none" else plot),
        Output("--plot-diagnostics", getattr(args, "plot_diagnostics", None)),
    ]


def check_train(args, streamed: bool) -> None:
    """``barenet train``: ``--data`` and ``--resume`` against its outputs."""
    inputs = [("--data", args.data), ("--resume", args.resume)]
    check_run_paths(inputs, train_outputs(args, streamed))


def check_predict(args, streamed: bool) -> None:
    """``barenet predict``: ``--model`` and ``--data`` against ``--out`` (a folder of
    Parquet parts when ``--data`` is a folder or glob)."""
    inputs = [("--model", args.model), ("--data", args.data)]
    check_run_paths(inputs, [Output("--out", args.out, folder=streamed)])
    suffix = Path(args.out).suffix if streamed and args.out else ""
    if suffix.lower() in FILE_SUFFIXES:
        raise BarenetValueError(
            f"--out {args.out}: with a folder or glob as --data, the predictions are a "
            f"folder of Parquet parts (part-00000.parquet, ...), not one {suffix} file: "
            f"give a folder name without a suffix, such as --out {Path(args.out).with_suffix('')}"
        )


def check_export(args) -> None:
    """``barenet export-onnx``: ``--model`` against ``--out``; an existing ``--out`` is
    replaced only if it is named ``.onnx`` and is not a zip archive (a barenet model)."""
    check_run_paths([("--model", args.model)], [Output("--out", args.out)])
    out = Path(args.out)
    if not out.is_file():
        return
    with open(out, "rb") as file:
        zipped = file.read(2) == b"PK"  # every .npz (a barenet model) is a zip archive
    if zipped or out.suffix.lower() != ".onnx":
        what = "a barenet model file (a zip archive)" if zipped else "a file not named .onnx"
        raise BarenetValueError(
            f"--out {args.out}: already exists and is {what}, which export-onnx would "
            f"overwrite; give a new path ending in .onnx, such as --out {out.stem}.onnx"
        )


def check_reads(args) -> None:
    """A command that writes no file (``evaluate``, ``tune``): only the input checks."""
    check_run_paths([(flag, getattr(args, flag[2:], None)) for flag in ("--model", "--data")], [])
