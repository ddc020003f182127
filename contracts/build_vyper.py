"""Compiles our Vyper stand-ins (contracts/src/*.vy) with the pip ``vyper`` (0.4.3), one artifact per variant.

    .venv/bin/python contracts/build_vyper.py

Writes contracts/artifacts/<name>.json holding {contractName, compiler, abi, bytecode, deployedBytecode}.
Vyper needs sizes and types as compile-time text, so a source holds placeholders (``__N_COINS__``,
``__COINS_T__``, ...) and each variant is compiled from a copy with its values written in; a factory
without the stable views has the block between ``# begin stable`` and ``# end stable`` cut out. The output
is deterministic (Vyper appends no source path or timestamp).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import vyper

HERE = Path(__file__).resolve().parent
STABLE_BLOCK = re.compile(r"# begin stable\n.*?# end stable\n", re.DOTALL)


@dataclass(frozen=True)
class Variant:
    name: str  # the artifact
    source: str  # contracts/src/<source>.vy
    values: Mapping[str, str] = field(default_factory=dict)
    stable_views: bool = True


def _plain_pool(n: int, *, eth: bool = False) -> Variant:
    payable = (
        {"__PAYABLE__": "@payable", "__MSG_VALUE__": "msg.value"} if eth else {"__PAYABLE__": "", "__MSG_VALUE__": "0"}
    )
    return Variant(f"CurveStableSwap{n}{'ETH' if eth else ''}", "CurveStableSwap", {"__N_COINS__": str(n), **payable})


def _factory(name: str, width: int | None, max_coins: int, *, stable: bool) -> Variant:
    """width None: stable-ng's dynamic arrays; else fixed arrays of that width."""
    if width is None:
        types = {
            "__COINS_T__": "DynArray[address, MAX_COINS]",
            "__NEW_COINS__": "[]",
            "__PUT_COIN__": "coins.append(coin)",
            "__BALANCES_T__": "DynArray[uint256, MAX_COINS]",
            "__NEW_BALANCES__": "[]",
            "__PUT_BALANCE__": "balances.append(balance)",
        }
    else:
        types = {
            "__COINS_T__": f"address[{width}]",
            "__NEW_COINS__": f"empty(address[{width}])",
            "__PUT_COIN__": "coins[i] = coin",
            "__BALANCES_T__": f"uint256[{width}]",
            "__NEW_BALANCES__": f"empty(uint256[{width}])",
            "__PUT_BALANCE__": "balances[i] = balance",
        }
    return Variant(name, "CurvePoolFactory", {"__MAX_COINS__": str(max_coins), **types}, stable_views=stable)


VARIANTS = (
    *(_plain_pool(n) for n in (2, 3, 4)),
    _plain_pool(2, eth=True),
    Variant("CurveAddressProvider", "CurveAddressProvider"),
    Variant("CurveMainRegistry", "CurveMainRegistry"),
    Variant("CurveStableSwapOwnerProxy", "CurveStableSwapOwnerProxy"),
    Variant("CurvePoolProxy", "CurvePoolProxy"),
    _factory("CurveStableFactory", 4, 4, stable=True),
    _factory("CurveStableNgFactory", None, 8, stable=True),
    _factory("CurveTwocryptoNgFactory", 2, 2, stable=False),
    _factory("CurveTricryptoNgFactory", 3, 3, stable=False),
    Variant("CurveCryptoPool2", "CurveCryptoPool", {"__N_COINS__": "2"}),
    Variant("CurveCryptoPool3", "CurveCryptoPool", {"__N_COINS__": "3"}),
)


def source_of(variant: Variant) -> str:
    text = (HERE / "src" / f"{variant.source}.vy").read_text()
    if not variant.stable_views:
        text = STABLE_BLOCK.sub("", text)
    for placeholder in sorted(variant.values, key=len, reverse=True):
        text = text.replace(placeholder, variant.values[placeholder])
    return text


def build(variant: Variant) -> dict[str, object]:
    out = vyper.compile_code(source_of(variant), output_formats=["abi", "bytecode", "bytecode_runtime"])
    return {
        "contractName": variant.name,
        "compiler": f"vyper {vyper.__version__}",
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }


def main() -> None:
    for variant in VARIANTS:
        artifact = build(variant)
        path = HERE / "artifacts" / f"{variant.name}.json"
        path.write_text(json.dumps(artifact, indent=2) + "\n")
        print(f"{variant.name}: {(len(str(artifact['bytecode'])) - 2) // 2} bytes init code")


if __name__ == "__main__":
    main()
