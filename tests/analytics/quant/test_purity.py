"""The quant package is pure math: it imports numbers libraries and itself, nothing that could do I/O."""

from __future__ import annotations

from pathlib import Path

import defiscope.analytics.quant
from tests.purity import imported_modules

ALLOWED = {"__future__", "math", "dataclasses", "typing", "collections", "numpy", "scipy", "defiscope"}
ALLOWED_OWN = ("defiscope.analytics.quant", "defiscope.errors")


def test_quant_modules_import_only_math_and_their_own_package() -> None:
    sources = sorted(Path(defiscope.analytics.quant.__file__).parent.rglob("*.py"))
    assert len(sources) >= 8
    for source in sources:
        for name in imported_modules(source):
            assert name.split(".")[0] in ALLOWED, f"{source.name} imports {name}"
            if name.startswith("defiscope"):
                assert name.startswith(ALLOWED_OWN), f"{source.name} imports {name}"
