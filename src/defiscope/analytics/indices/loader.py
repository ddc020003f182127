"""Reading index definitions from TOML: one file per index, validated, ids unique across the directory.

TOML floats are parsed as `Decimal`, so `cap = 0.1` is exactly one tenth and explicit weights sum exactly.
Any fault is one `InvalidDefinition` naming the file, the field and the problem. `configured_definitions` adds
the definitions of the folder `$DEFISCOPE_INDEX_DEFINITIONS` names to the shipped ones (serve and the API track
and show both), validated alike: a test index with short age rules, or a house index.

    >>> sorted(load_definitions())
    ['defi-grade', 'defi-pulse', 'defi-tvl']
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.errors import InvalidDefinition

#: The definitions shipped with defiscope.
SHIPPED_DEFINITIONS: Final = Path(__file__).parent / "definitions"
#: A folder of more definitions, tracked and served beside the shipped ones.
EXTRA_DEFINITIONS_ENV: Final = "DEFISCOPE_INDEX_DEFINITIONS"


def configured_definitions(env: Mapping[str, str] | None = None) -> dict[str, IndexDefinition]:
    """The shipped definitions, and those of the folder `$DEFISCOPE_INDEX_DEFINITIONS` (ids unique across both)."""
    env = os.environ if env is None else env
    definitions = load_definitions(SHIPPED_DEFINITIONS)
    folder = env.get(EXTRA_DEFINITIONS_ENV)
    if not folder:
        return definitions
    directory = Path(folder).expanduser()
    if not directory.is_dir():
        raise InvalidDefinition(f"{EXTRA_DEFINITIONS_ENV}={folder}: no such folder", field="definitions")
    for index_id, definition in load_definitions(directory).items():
        if index_id in definitions:
            raise InvalidDefinition(f"{directory}: id {index_id!r} is a shipped definition's", field="id")
        definitions[index_id] = definition
    return definitions


def load_definitions(directory: Path = SHIPPED_DEFINITIONS) -> dict[str, IndexDefinition]:
    """Every `*.toml` definition in `directory`, by id; refuses a directory without any, and repeated ids."""
    sources = sorted(directory.glob("*.toml"))
    if not sources:
        raise InvalidDefinition(f"{directory}: no index definitions (*.toml) there", field="definitions")
    definitions: dict[str, IndexDefinition] = {}
    origins: dict[str, Path] = {}
    for source in sources:
        definition = parse_definition(source.read_text(encoding="utf-8"), source=str(source))
        if definition.id in definitions:
            raise InvalidDefinition(
                f"{source}: id {definition.id!r} is already defined by {origins[definition.id]}", field="id"
            )
        definitions[definition.id] = definition
        origins[definition.id] = source
    return definitions


def parse_definition(text: str, *, source: str = "<definition>") -> IndexDefinition:
    """One definition from TOML text; `source` names it in errors."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidDefinition(f"{source}: not valid TOML ({exc})", field="definition") from exc
    try:
        return IndexDefinition.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        field, problem = _described(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidDefinition(f"{source}: {field}: {problem}{more}", field=field) from exc


def _described(error: ErrorDetails) -> tuple[str, str]:
    # a discriminated union puts the variant's tag into the location: rebalance.calendar.day -> rebalance.day
    location = [str(part) for part in error["loc"] if part not in ("calendar", "drift")]
    field = ".".join(location) or "definition"
    problem = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("value_error", "missing", "extra_forbidden"):
        return field, problem  # our own messages carry their numbers; the others have no value to show
    return field, f"{problem} (got {error['input']!r})"
