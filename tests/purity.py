"""What a module imports, read from its source (no import run): tests that hold math modules free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(source: Path) -> set[str]:
    """Every module `source` imports, absolute names as written (`import a.b`, `from a.b import c`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names
