"""Column types that keep on-chain integers and USD decimals exact on every backend.

SQLite gives a NUMERIC column "numeric affinity": it silently turns 2**200 into a lossy REAL and
Decimal("0.1") into a binary float. So on SQLite both types store canonical decimal *text*, and on
PostgreSQL they use NUMERIC, which is exact. Nothing here does arithmetic in SQL; the Python side
owns the sums, which is what lets `explain` re-add token values to the stored total to the last digit.

    >>> ExactInt().process_bind_param(2**255, _SQLITE)
    '57896044618658097711785492504343953926634992332820282019728792003956564819968'
    >>> ExactDecimal().process_result_value("0.000000000000000000000001", _SQLITE)
    Decimal('1E-24')
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import JSON, Dialect, Numeric, Text
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator, TypeEngine

UINT256_DIGITS: Final = 78  # len(str(2**256 - 1))
_INT_LIMIT: Final = 10**UINT256_DIGITS
_SQLITE: Final = sqlite.dialect()  # for the doctest above


def check_int(value: object) -> int:
    """`value` if it fits `ExactInt`, else TypeError/ValueError saying why."""
    # bool is an int subclass; a True amount is a bug upstream, not a 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an exact integer column needs an int, got {type(value).__name__}")
    if not -_INT_LIMIT < value < _INT_LIMIT:
        raise ValueError(f"integer {value} has more than {UINT256_DIGITS} digits")
    return value


def check_decimal(value: object) -> Decimal:
    """`value` if it fits `ExactDecimal`, else TypeError/ValueError saying why."""
    if not isinstance(value, Decimal):
        # A float is already inexact and an int belongs in ExactInt; refuse both loudly.
        raise TypeError(f"an exact decimal column needs a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"cannot store non-finite Decimal {value}; mark the figure unpriced instead")
    return value


class ExactInt(TypeDecorator[int]):
    """An integer of up to 78 decimal digits (all of uint256, and its negatives).

    TEXT on SQLite, NUMERIC(78, 0) on PostgreSQL.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(UINT256_DIGITS, 0, asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | Decimal | None:
        if value is None:
            return None
        check_int(value)
        return Decimal(value) if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: object, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return int(value)  # NUMERIC(78, 0): integral by construction, so exact
        return int(str(value))


class ExactDecimal(TypeDecorator[Decimal]):
    """A finite Decimal of any scale, returned equal to what was stored.

    TEXT on SQLite (``str(Decimal)`` is canonical and exact). Unconstrained NUMERIC on PostgreSQL:
    a fixed NUMERIC(p, s) would round a value like ``amount / 10**18 * price`` whose digits run past
    ``s``, and then the stored total would no longer equal the sum of its stored parts.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | Decimal | None:
        if value is None:
            return None
        check_decimal(value)
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value))


class ExactJson(TypeDecorator[Any]):
    """JSON data, with integers of any size kept exact.

    TEXT on SQLite, JSON on PostgreSQL. Not SQLAlchemy's JSON on SQLite: a column declared "JSON"
    gets NUMERIC affinity there, so a bare number like ``2**255`` (a perfectly good call result) is
    stored as a lossy REAL.
    """

    impl = Text
    cache_ok = True
    # Python None is the JSON value null (a failed call's result), not SQL NULL.
    should_evaluate_none = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSON(none_as_null=False))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return value  # the JSON impl serialises
        return json.dumps(value, allow_nan=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        return json.loads(value)


def to_json(value: object) -> object:
    """Check that `value` is JSON-serialisable and return it as JSON would load it back.

    Raises ``TypeError`` naming the offending type, so a bad provenance record fails the save
    before anything is written rather than deep inside the driver.
    """
    return json.loads(json.dumps(value, allow_nan=False))


def from_json(value: object) -> object:
    """Turn JSON arrays back into tuples, recursively.

    eth_abi decodes multi-value results and arguments as tuples, and `CallRecord.args` is a tuple,
    so tuples are the shape a stored call must come back in to compare equal to the one saved.
    """
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    return value
