"""Compiled contract artifacts: npm packages (waffle and hardhat formats), our own, and library linking.

Example::

    factory = npm_artifact("UniswapV2Factory")           # a well-known name ...
    pool = load_npm_artifact("@aave/core-v3/artifacts/contracts/protocol/pool/Pool.sol/Pool.json")
    linked = pool.link({"SupplyLogic": "0x...", "BorrowLogic": "0x...", ...})
    token = contract_artifact("DevToken")                # contracts/artifacts/DevToken.json

The project root is the folder holding ``package.json`` and ``node_modules``: ``$DEFISCOPE_PROJECT_ROOT``
if set, else the first such folder above this file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from eth_utils import is_address, to_checksum_address

from defiscope.devnet.errors import DevnetError

PROJECT_ROOT_ENV: Final = "DEFISCOPE_PROJECT_ROOT"

# Well-known npm artifacts, by the name the deployers use. Paths are relative to node_modules.
NPM_ARTIFACTS: Final[Mapping[str, str]] = {
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "GnosisSafe": "@gnosis.pm/safe-contracts/build/artifacts/contracts/GnosisSafe.sol/GnosisSafe.json",
    "GnosisSafeProxyFactory": (
        "@gnosis.pm/safe-contracts/build/artifacts/contracts/proxies/GnosisSafeProxyFactory.sol/GnosisSafeProxyFactory.json"
    ),
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    # OpenZeppelin's own build of its proxies (5.7): what the devnet's upgradeable stand-ins sit behind.
    "TransparentUpgradeableProxy": "@openzeppelin/contracts/build/contracts/TransparentUpgradeableProxy.json",
    "ProxyAdmin": "@openzeppelin/contracts/build/contracts/ProxyAdmin.json",
    "UpgradeableBeacon": "@openzeppelin/contracts/build/contracts/UpgradeableBeacon.json",
    "BeaconProxy": "@openzeppelin/contracts/build/contracts/BeaconProxy.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "UniswapV3Factory": "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "NonfungiblePositionManager": (
        "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
    ),
    "SwapRouter": "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    "TickLens": "@uniswap/v3-periphery/artifacts/contracts/lens/TickLens.sol/TickLens.json",
    "PancakeV3Factory": "@pancakeswap/v3-core/artifacts/contracts/PancakeV3Factory.sol/PancakeV3Factory.json",
    "PancakeV3Pool": "@pancakeswap/v3-core/artifacts/contracts/PancakeV3Pool.sol/PancakeV3Pool.json",
    # Uniswap's V2+V3 router (mainnet's SwapRouter02) and PancakeSwap V3's SwapRouter (1.0.2: 1.0.3 ships no
    # artifacts).
    "SwapRouter02": "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
    "PancakeV3SwapRouter": "@pancakeswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
}

# Our own contracts, compiled by contracts/build.mjs.
CONTRACT_NAMES: Final = ("DevToken", "Multicall3", "PriceFeed", "Reverter")

# solc leaves `__$<34 hex>$__` (or `__<path:name padded>__` in old versions) where a library address goes.
_PLACEHOLDER: Final = re.compile(r"__[$A-Za-z0-9_./:]{36}__")


@dataclass(frozen=True, slots=True)
class LinkReference:
    """Where one library address goes: a byte offset into the code and a length (always 20)."""

    source: str
    library: str
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class Artifact:
    """One contract's ABI and code. ``bytecode`` is init code, ``deployed_bytecode`` runtime code (0x hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    link_references: tuple[LinkReference, ...] = ()
    deployed_link_references: tuple[LinkReference, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def libraries(self) -> frozenset[str]:
        """Names of the libraries that must be linked before the init code can be deployed."""
        return frozenset(ref.library for ref in self.link_references)

    @property
    def is_linked(self) -> bool:
        return not self.link_references and not self.deployed_link_references

    def link(self, libraries: Mapping[str, str]) -> Artifact:
        """Return a copy with every library address spliced in.

        ``libraries`` maps a library name (``"BorrowLogic"``) or a qualified one
        (``"contracts/.../BorrowLogic.sol:BorrowLogic"``) to its deployed address. Every referenced
        library must be given; extra names are ignored so one mapping can link several contracts.
        """
        return Artifact(
            name=self.name,
            abi=self.abi,
            bytecode=link_bytecode(self.bytecode, self.link_references, libraries),
            deployed_bytecode=link_bytecode(self.deployed_bytecode, self.deployed_link_references, libraries),
            path=self.path,
        )


def link_bytecode(bytecode: str, references: tuple[LinkReference, ...], libraries: Mapping[str, str]) -> str:
    """Splice library addresses into ``bytecode`` (0x hex) at the byte offsets of ``references``."""
    # Unlinked code holds placeholders that are not hex, so work on the hex text: 2 characters a byte.
    text = bytecode.removeprefix("0x")
    for ref in references:
        address = libraries.get(f"{ref.source}:{ref.library}") or libraries.get(ref.library)
        if address is None:
            raise DevnetError(f"library {ref.library} ({ref.source}) is not given: cannot link")
        if not is_address(address):
            raise DevnetError(f"library {ref.library}: {address!r} is not an address")
        if ref.length != 20:
            raise DevnetError(f"library {ref.library}: link reference of {ref.length} bytes, expected 20")
        begin, end = 2 * ref.start, 2 * (ref.start + ref.length)
        if end > len(text):
            raise DevnetError(f"library {ref.library}: link reference at {ref.start} is past the code")
        text = text[:begin] + to_checksum_address(address)[2:].lower() + text[end:]
    if _PLACEHOLDER.search(text):
        raise DevnetError("code still holds a library placeholder after linking: link references are incomplete")
    return "0x" + text


def _references(raw: Mapping[str, Mapping[str, list[Mapping[str, int]]]] | None) -> tuple[LinkReference, ...]:
    if not raw:
        return ()
    return tuple(
        LinkReference(source=source, library=library, start=int(ref["start"]), length=int(ref["length"]))
        for source, by_name in raw.items()
        for library, refs in by_name.items()
        for ref in refs
    )


def _hex(value: str) -> str:
    return value if value.startswith("0x") else "0x" + value


def parse_artifact(name: str, data: Mapping[str, Any], path: Path | None = None) -> Artifact:
    """Read an artifact in waffle (``evm.deployedBytecode.object``) or hardhat/our format."""
    evm = data.get("evm")
    if isinstance(evm, Mapping):
        # Waffle (Uniswap V2): top-level "bytecode" is init code without 0x; the runtime code is under evm.
        bytecode = data.get("bytecode") or evm["bytecode"]["object"]
        deployed = evm["deployedBytecode"]["object"]
        links = _references(evm["bytecode"].get("linkReferences"))
        deployed_links = _references(evm["deployedBytecode"].get("linkReferences"))
    else:
        bytecode = data["bytecode"]
        deployed = data["deployedBytecode"]
        links = _references(data.get("linkReferences"))
        deployed_links = _references(data.get("deployedLinkReferences"))
    return Artifact(
        name=name,
        abi=list(data["abi"]),
        bytecode=_hex(str(bytecode)),
        deployed_bytecode=_hex(str(deployed)),
        link_references=links,
        deployed_link_references=deployed_links,
        path=path,
    )


def project_root() -> Path:
    """The folder holding package.json and node_modules (see the module docstring)."""
    configured = os.environ.get(PROJECT_ROOT_ENV)
    if configured:
        root = Path(configured).expanduser().resolve()
        if not (root / "package.json").is_file():
            raise DevnetError(f"${PROJECT_ROOT_ENV}={configured} holds no package.json")
    else:
        here = Path(__file__).resolve()
        found = next((p for p in here.parents if (p / "package.json").is_file()), None)
        if found is None:
            raise DevnetError(f"no package.json above {here.parent}: set ${PROJECT_ROOT_ENV} to the defiscope checkout")
        root = found
    if not (root / "node_modules").is_dir():
        raise DevnetError(f"{root / 'node_modules'} is missing: run `npm ci` in {root}")
    return root


def node_modules() -> Path:
    return project_root() / "node_modules"


def _read_json(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DevnetError(f"artifact {path} not found: run `npm ci` (or `node contracts/build.mjs`)") from None
    except json.JSONDecodeError as exc:
        raise DevnetError(f"artifact {path} is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise DevnetError(f"artifact {path} is not a JSON object")
    return data


@cache
def load_npm_artifact(relative_path: str) -> Artifact:
    """Load an artifact from node_modules by its path (``@uniswap/v2-core/build/UniswapV2Pair.json``)."""
    path = node_modules() / relative_path
    return parse_artifact(path.stem, _read_json(path), path)


def npm_artifact(name: str) -> Artifact:
    """Load one of :data:`NPM_ARTIFACTS` by name."""
    try:
        relative = NPM_ARTIFACTS[name]
    except KeyError:
        raise DevnetError(f"unknown npm artifact {name!r}; known: {', '.join(sorted(NPM_ARTIFACTS))}") from None
    return load_npm_artifact(relative)


@cache
def contract_artifact(name: str) -> Artifact:
    """Load one of our contracts from contracts/artifacts (compiled by contracts/build.mjs)."""
    path = project_root() / "contracts" / "artifacts" / f"{name}.json"
    return parse_artifact(name, _read_json(path), path)


def artifact_files() -> tuple[Path, ...]:
    """Every artifact file the devnet deploys from: their content is part of the world's cache key."""
    root = project_root()
    ours = sorted((root / "contracts" / "artifacts").glob("*.json"))
    npm = [root / "node_modules" / rel for rel in sorted(NPM_ARTIFACTS.values())]
    return (*ours, *npm)
