"""Compiles contracts/src/CurveStableSwap.vy with the pip ``vyper`` (0.4.3) into one artifact per pool size.

    .venv/bin/python contracts/build_vyper.py

Writes contracts/artifacts/CurveStableSwap{2,3,4}.json holding {contractName, compiler, abi, bytecode,
deployedBytecode}. Vyper needs the coin count as a compile-time constant, so the source holds the
placeholder ``__N_COINS__`` and each size is compiled from a copy with the number written in. The output
is deterministic (Vyper appends no source path or timestamp).
"""

from __future__ import annotations

import json
from pathlib import Path

import vyper

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "CurveStableSwap.vy"
SIZES = (2, 3, 4)


def build(n_coins: int) -> dict[str, object]:
    source = SOURCE.read_text().replace("__N_COINS__", str(n_coins))
    out = vyper.compile_code(source, output_formats=["abi", "bytecode", "bytecode_runtime"])
    return {
        "contractName": f"CurveStableSwap{n_coins}",
        "compiler": f"vyper {vyper.__version__}",
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }


def main() -> None:
    for n in SIZES:
        artifact = build(n)
        path = HERE / "artifacts" / f"CurveStableSwap{n}.json"
        path.write_text(json.dumps(artifact, indent=2) + "\n")
        print(f"{artifact['contractName']}: {(len(str(artifact['bytecode'])) - 2) // 2} bytes init code")


if __name__ == "__main__":
    main()
