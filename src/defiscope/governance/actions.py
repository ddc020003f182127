"""A proposal's actions decoded through the ABIs we hold, and flagged by what they change.

An action is (target, value, signature, calldata). Bravo proposals may carry the function in `signature`
and only the arguments in `calldata`; OpenZeppelin's carry an empty signature and the selector in the
calldata. Either way the function is found by selector in the ABIs (`AbiLibrary`), the arguments decoded,
and the action flagged from the function's name:

    >>> from eth_utils import keccak
    >>> lib = AbiLibrary.of([[{"type": "function", "name": "_setPriceOracle",
    ...                        "inputs": [{"name": "newOracle", "type": "address"}]}]])
    >>> data = "0x" + keccak(text="_setPriceOracle(address)")[:4].hex() + "00" * 12 + "11" * 20
    >>> action = decode_action(lib, {}, "0x" + "22" * 20, 0, "", data)
    >>> action.function, action.flag, action.arguments[0].value
    ('_setPriceOracle(address)', 'oracle-change', '0x1111111111111111111111111111111111111111')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import eth_abi
from eth_utils import keccak

from defiscope.chain.abi import Function, checksum

Flag = Literal["upgrade", "admin-change", "oracle-change", "parameter-change", "treasury-transfer", "unknown"]
FLAGS: Final[tuple[Flag, ...]] = (
    "upgrade",
    "admin-change",
    "oracle-change",
    "parameter-change",
    "treasury-transfer",
    "unknown",
)

#: Functions by what they change, across the governed protocols (Compound's Comptroller/CToken/Comet
#: configurator, Uniswap's factories, Aave's addresses provider and configurator, OpenZeppelin proxies and
#: access control, ERC-20 transfers out of a treasury).
FLAG_BY_NAME: Final[Mapping[str, Flag]] = {
    **dict.fromkeys(
        (
            "upgradeTo",
            "upgradeToAndCall",
            "upgradeAndCall",
            "deployAndUpgradeTo",
            "_setImplementation",
            "_setPendingImplementation",
            "_acceptImplementation",
            "setImplementation",
            "setPoolImpl",
            "setPoolConfiguratorImpl",
            "setAddressAsProxy",
            "updateAToken",
            "updateVariableDebtToken",
        ),
        "upgrade",
    ),
    **dict.fromkeys(
        (
            "_setPendingAdmin",
            "_acceptAdmin",
            "setPendingAdmin",
            "acceptAdmin",
            "setOwner",
            "transferOwnership",
            "changeAdmin",
            "changeProxyAdmin",
            "grantRole",
            "revokeRole",
            "renounceRole",
            "setACLAdmin",
            "setACLManager",
            "rely",
            "deny",
            "setAuthority",
            "updateTimelock",
            "_setPauseGuardian",
            "_setBorrowCapGuardian",
            "setGovernor",
            # Aave's ACLManager roles and its executors' admin
            "addPoolAdmin",
            "removePoolAdmin",
            "addRiskAdmin",
            "removeRiskAdmin",
            "addEmergencyAdmin",
            "removeEmergencyAdmin",
            "addAssetListingAdmin",
            "removeAssetListingAdmin",
        ),
        "admin-change",
    ),
    **dict.fromkeys(
        ("_setPriceOracle", "setPriceOracle", "setAssetSources", "setFallbackOracle", "setPriceFeed", "setOracle"),
        "oracle-change",
    ),
    **dict.fromkeys(
        ("transfer", "transferFrom", "approve", "_reduceReserves", "_grantComp", "withdrawReserves", "sweepToken"),
        "treasury-transfer",
    ),
}
#: A decoded function not named above that sets something is a parameter change.
PARAMETER_PREFIXES: Final = (
    "_set",
    "set",
    "file",
    "dripAndFile",  # Maker's GovActions: a Jug rate, filed after a drip
    "enable",
    "disable",
    "update",
    "configure",
    "_support",
)


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    type: str
    value: Any  # JSON: integers as decimal strings, bytes as 0x-hex, addresses checksummed


@dataclass(frozen=True, slots=True)
class Action:
    target: str
    target_name: str | None  # the registry's name for the target, when it has one
    value: int  # wei sent with the call
    function: str | None  # "name(types)", None when no ABI we hold has the selector
    arguments: tuple[Argument, ...]
    calldata: str
    flag: Flag
    why: str  # how the flag was chosen (or why the action could not be decoded)


@dataclass(frozen=True, slots=True)
class _Entry:
    function: Function
    names: tuple[str, ...]


class AbiLibrary:
    """Functions by selector from many ABIs (the first ABI that has a selector names its arguments)."""

    def __init__(self, entries: Mapping[bytes, _Entry]) -> None:
        self._entries = dict(entries)

    @classmethod
    def of(cls, abis: Iterable[Sequence[Mapping[str, Any]]]) -> AbiLibrary:
        entries: dict[bytes, _Entry] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "function":
                    continue
                function = Function.from_abi(item)
                names = tuple(str(p.get("name") or f"arg{i}") for i, p in enumerate(item.get("inputs", ())))
                entries.setdefault(function.selector, _Entry(function, names))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, selector: bytes) -> _Entry | None:
        return self._entries.get(selector)


def _jsonable(value: Any, abi_type: str) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v, abi_type.rstrip("[]0123456789")) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if abi_type.startswith("address") and isinstance(value, str):
        return checksum(value)
    return value


def flag_of(name: str | None, value: int) -> tuple[Flag, str]:
    if name is None:
        return ("treasury-transfer", "sends ether to a target without calldata") if value else ("unknown", "")
    flag = FLAG_BY_NAME.get(name)
    if flag is not None:
        return flag, f"{name} is a {flag} function"
    if name.startswith(PARAMETER_PREFIXES):
        return "parameter-change", f"{name} sets a parameter"
    if value:
        return "treasury-transfer", f"{name} is sent {value} wei"
    return "unknown", f"{name} is not a function we classify"


def decode_action(
    library: AbiLibrary, names: Mapping[str, str], target: str, value: int, signature: str, calldata: str
) -> Action:
    """One action; `names` maps lowercase addresses to registry names."""
    raw = bytes.fromhex(calldata.removeprefix("0x"))
    if signature:
        selector, args = keccak(text=signature.replace(" ", ""))[:4], raw
    else:
        selector, args = raw[:4], raw[4:]
    target_name = names.get(target.lower())
    entry = library.find(selector) if len(selector) == 4 else None
    if entry is None:
        if not raw and not signature:
            flag, why = flag_of(None, value)
            return Action(target, target_name, value, None, (), calldata, flag, why or "an empty call")
        return Action(
            target,
            target_name,
            value,
            None,
            (),
            calldata,
            "unknown",
            f"selector 0x{selector.hex()} is in no ABI we hold",
        )
    function = entry.function
    try:
        decoded = eth_abi.decode(list(function.inputs), args)
    except Exception as exc:  # eth-abi raises several types for data that does not fit
        why = f"arguments do not decode as {function.signature}: {exc}"
        return Action(target, target_name, value, function.signature, (), calldata, "unknown", why)
    arguments = tuple(
        Argument(name, kind, _jsonable(v, kind))
        for name, kind, v in zip(entry.names, function.inputs, decoded, strict=True)
    )
    flag, why = flag_of(function.name, value)
    return Action(target, target_name, value, function.signature, arguments, calldata, flag, why)
