"""Setup that works anywhere: no machine's absolute path in the repository, a license
pip does not warn about, a test extra without PyTorch, and declared minimum versions
that CI installs (``.ci/run``)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: An absolute path of a machine: a home, a temporary or a work folder, or a Windows user's.
MACHINE_PATH = re.compile(
    r"(?<![\w.\-/~])/(?:work|root|home|tmp|Users|mnt|srv|opt|var/folders)/[\w.\-]+"
    r"|[A-Za-z]:\\\\?Users\\\\?\w+"
)
#: Placeholders a page may show on purpose.
PLACEHOLDERS = re.compile(r"/(?:home|Users)/(?:you|user|me|name)\b|/tmp/(?:example|\.\.\.)")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def machine_paths(text: str) -> list[str]:
    return [m.group(0) for m in MACHINE_PATH.finditer(text) if not PLACEHOLDERS.match(m.group(0))]


def test_the_pattern_finds_machine_paths_and_spares_placeholders_and_urls():
    # the examples are put together here, so that this file holds no machine path itself
    root, drive = "/", "C:" + "\\"
    found = machine_paths(
        f'CAL = Path("{root}work/shared/data/x.csv")  # or {root}root/.cache/x, '
        f"{root}tmp/pytest-1/y, {root}home/alice/data, {drive}Users\\bob\\x"
    )
    assert found == [
        f"{root}work/shared",
        f"{root}root/.cache",
        f"{root}tmp/pytest-1",
        f"{root}home/alice",
        f"{drive}Users\\bob",
    ]
    assert not machine_paths(
        f"https://example.org/home/page {root}home/you/data {root}tmp/example "
        "~/scikit_learn_data ../shared/scikit_learn_data /path/to/that/folder "
        "src/barenet/work/x"
    )


def test_no_absolute_path_of_a_machine_in_any_tracked_file():
    offenders = []
    for path in tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary file
        for line_number, line in enumerate(text.splitlines(), 1):
            for found in machine_paths(line):
                offenders.append(f"{path.relative_to(ROOT)}:{line_number}: {found}")
    assert not offenders, "machine paths in the repository:\n" + "\n".join(offenders)


def test_the_license_is_an_spdx_string_and_setuptools_reads_it():
    assert PYPROJECT["project"]["license"] == "MIT"
    requires = PYPROJECT["build-system"]["requires"]
    (setuptools,) = [r for r in requires if r.startswith("setuptools")]
    assert setuptools == "setuptools>=77"  # the first to read an SPDX license string


def test_the_test_extra_pulls_no_pytorch_and_can_build_the_release():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not [r for r in extras["test"] if re.match(r"torch\b", r)]
    assert any(r.startswith("build") for r in extras["test"])
    assert extras["torch"] == ["torch==2.13.0"]


def test_every_runtime_dependency_declares_a_minimum_that_ci_installs():
    dependencies = PYPROJECT["project"]["dependencies"]
    names = [re.match(r"[\w\-]+", d).group(0) for d in dependencies]
    assert sorted(names) == sorted(
        ["numpy", "scikit-learn", "pandas", "pyarrow", "numba", "matplotlib", "tqdm"]
    )
    for dependency in dependencies:
        assert re.fullmatch(r"[\w\-]+>=[\d.]+", dependency), dependency
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "minimum" in ci and "dependencies" in ci  # the lower-bounds job reads them
