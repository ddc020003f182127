"""Compact, readable figures for tables (JSON output keeps the exact decimals).

>>> usd(Decimal("12345678.9"))
'$12.35M'
>>> pct(Decimal("-1.234")), pct(None)
('-1.23%', '—')
"""

from __future__ import annotations

from decimal import Decimal

_UNITS = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k"))


def usd(value: Decimal | None) -> str:
    if value is None:
        return "—"
    for size, suffix in _UNITS:
        if abs(value) >= size:
            return f"${value / size:,.2f}{suffix}"
    return f"${value:,.2f}"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.2f}%".replace("+-", "-")
