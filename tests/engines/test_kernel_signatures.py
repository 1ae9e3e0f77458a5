"""The numba functions take their arguments grouped (issue 29: the compiled kernel once
took 21): no compiled function in the engines takes more than ``MOST`` arguments."""

import ast
from pathlib import Path

ENGINES = Path(__file__).resolve().parents[2] / "src" / "barenet" / "engines"
MOST = 9  # predict_rows: x, out, chunk, the plan's four arrays and numbers, work, first


def compiled_functions():
    for path in sorted(ENGINES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                "njit" in ast.unparse(decorator) for decorator in node.decorator_list
            ):
                yield f"{path.name}:{node.name}", len(node.args.args)


def test_no_compiled_function_takes_more_than_nine_arguments():
    found = dict(compiled_functions())
    assert len(found) >= 8, "the scan found the kernels and loops"
    assert {"kernels.py:train_batches", "loops.py:adam_update"} <= set(found)
    assert {name: n for name, n in found.items() if n > MOST} == {}
