"""The grade math is pure: formula, signals, panel, calibration and evaluation do no I/O (factors.py, which reads
the store, is not among them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import defiscope.analytics.grades
from tests.purity import imported_modules

PURE = ("catalog", "formula", "signals", "panel", "calibration", "evaluation", "walkforward")
ALLOWED = {"__future__", "math", "dataclasses", "decimal", "typing", "types", "collections", "itertools"}
ALLOWED |= {"numpy", "scipy", "sklearn", "threadpoolctl"}
ALLOWED_OWN = ("defiscope.analytics.grades", "defiscope.analytics.quant", "defiscope.errors")


@pytest.mark.parametrize("name", PURE)
def test_grade_math_imports_only_math_and_its_own_packages(name: str) -> None:
    source = Path(defiscope.analytics.grades.__file__).parent / f"{name}.py"
    for module in imported_modules(source):
        assert module.split(".")[0] in ALLOWED | {"defiscope"}, f"{name} imports {module}"
        if module.startswith("defiscope"):
            assert module.startswith(ALLOWED_OWN), f"{name} imports {module}"
        if module.startswith("defiscope.analytics.grades."):
            assert module.rsplit(".", 1)[1] in PURE, f"{name} imports {module}"
