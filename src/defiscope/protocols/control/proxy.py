"""Proxy detection at a pinned block: EIP-1967 slots, UUPS vs transparent vs beacon, and older patterns.

    info = await read_proxy(reader, pool_address)
    info.kind, info.implementation, info.admin   # "transparent", "0x…", "0x…" (Aave: the immutable admin)

How each kind is told apart (the same order as below):

- EIP-1967 implementation slot set: ``uups`` when the implementation answers ``proxiableUUID()`` with that
  slot (ERC-1822), else ``transparent`` when an admin is known (the admin slot, or an address immutable in
  the proxy's code as in Aave's InitializableImmutableAdminUpgradeabilityProxy), else ``eip1967``.
- EIP-1967 beacon slot set: ``beacon``; the implementation is the beacon's ``implementation()``, the admin
  the beacon's ``owner()``.
- Compound's Unitroller: ``comptrollerImplementation()`` answers; admin is ``admin()``.
- Compound's CErc20Delegator (mainnet's cDAI, cUSDC ...): ``implementation()`` and ``admin()`` answer (no slot).
- Safe's proxy: ``masterCopy()`` answers with the singleton kept in slot 0.
- ERC-897: ``proxyType()`` and ``implementation()`` answer. With ``kernel()`` too it is an Aragon app proxy
  (Lido's stETH): pattern ``aragon-app``, its admin the kernel, whose ACL says who may ``setApp`` (`aragon`).
  With ``acl()`` instead it is an Aragon KernelProxy (Lido's DAO kernel): pattern ``aragon-kernel``, its admin
  itself (its ``setApp`` in the core namespace upgrades it, under the same ACL role).
Anything else is ``none``: not a proxy, or one of a pattern not known here (the bytecode's hash is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from eth_utils import keccak, to_checksum_address

from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.control.rounds import Rounds, in_rounds
from defiscope.protocols.control.surface import (
    ACL,
    ADMIN,
    COMPTROLLER_IMPLEMENTATION,
    IMPLEMENTATION,
    KERNEL,
    MASTER_COPY,
    OWNER,
    PROXIABLE_UUID,
    PROXY_TYPE,
)


def _eip1967_slot(label: str) -> int:
    """bytes32(uint256(keccak256(label)) - 1), as EIP-1967 defines its slots."""
    return int.from_bytes(keccak(text=label), "big") - 1


IMPLEMENTATION_SLOT: Final = _eip1967_slot("eip1967.proxy.implementation")
ADMIN_SLOT: Final = _eip1967_slot("eip1967.proxy.admin")
BEACON_SLOT: Final = _eip1967_slot("eip1967.proxy.beacon")
PROXY_SLOTS: Final = (IMPLEMENTATION_SLOT, ADMIN_SLOT, BEACON_SLOT)
ADDRESS_MASK: Final = (1 << 160) - 1
#: PUSH32: how solc inlines an immutable into runtime code.
PUSH32: Final = 0x7F

ProxyKind = Literal["eip1967", "transparent", "uups", "beacon", "custom", "none"]


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """What a contract is as a proxy. ``pattern`` names the precise pattern ("oz-transparent",
    "immutable-admin", "compound-unitroller", "safe-proxy", ...); ``admin`` is the address that can upgrade it
    (None: not a proxy, or not found — ``admin_why`` says why)."""

    address: str
    kind: ProxyKind
    pattern: str
    implementation: str | None = None
    admin: str | None = None
    beacon: str | None = None
    admin_why: str | None = None
    has_code: bool = True


def word_address(word: int) -> str | None:
    """The address in a storage word's low 20 bytes (None: zero)."""
    return to_checksum_address(word.to_bytes(20, "big")) if word & ADDRESS_MASK else None


def immutable_addresses(code: bytes) -> list[str]:
    """Addresses pushed whole by PUSH32 in runtime code (immutables are inlined so), in order, without repeats.

    >>> immutable_addresses(bytes([0x7F]) + bytes(12) + bytes.fromhex("11" * 20) + bytes([0x60, 0x00]))
    ['0x1111111111111111111111111111111111111111']
    """
    found: list[str] = []
    i = 0
    while i < len(code):
        op = code[i]
        if op == PUSH32 and i + 33 <= len(code):
            word = code[i + 1 : i + 33]
            if word[:12] == bytes(12) and any(word[12:]) and int.from_bytes(word[12:], "big") > 0xFFFFFFFF:
                address = to_checksum_address(word[12:])
                if address not in found:
                    found.append(address)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return found


#: What a contract answers if it is a proxy of an older pattern (asked with its slots, in the same round).
OLDER_PATTERN_CALLS: Final = (COMPTROLLER_IMPLEMENTATION, IMPLEMENTATION, ADMIN, MASTER_COPY, PROXY_TYPE, KERNEL, ACL)
#: ERC-897's proxyType() of a proxy whose implementation can change (1: forwarding to a fixed one).
ERC897_UPGRADEABLE: Final = 2


@in_rounds
async def read_proxy(rounds: Rounds, address: str) -> ProxyInfo:
    """The proxy kind of ``address`` at the reader's block, with its implementation and admin where known."""
    address = to_checksum_address(address)
    older_calls = [Call.of(address, s) for s in OLDER_PATTERN_CALLS]  # asked ahead: no slot may be set
    rounds.prefetch(slots=[(address, slot) for slot in PROXY_SLOTS], calls=older_calls)
    code = await rounds.code(address)
    impl_word, admin_word, beacon_word = [await rounds.storage(address, slot) for slot in PROXY_SLOTS]
    if not code:
        return ProxyInfo(address, "none", "no-code", admin_why="no contract at this address", has_code=False)
    implementation, beacon = word_address(impl_word), word_address(beacon_word)
    if implementation is not None:
        (uuid,) = await rounds.call_many([Call.of(implementation, PROXIABLE_UUID)])
        return eip1967_proxy(address, code, implementation, word_address(admin_word), uuid)
    if beacon is not None:
        rounds.prefetch(emitters=[beacon])  # the beacon's Upgraded events: the proxy's implementation history
        implementation_answer, owner = await rounds.call_many([Call.of(beacon, IMPLEMENTATION), Call.of(beacon, OWNER)])
        return beacon_proxy(address, beacon, implementation_answer, owner)
    return older_proxy(address, OlderAnswers(*await rounds.call_many(older_calls)))


def eip1967_proxy(address: str, code: bytes, implementation: str, admin: str | None, uuid: CallResult) -> ProxyInfo:
    """An EIP-1967 proxy told apart by its implementation's ``proxiableUUID()`` answer and where its admin is."""
    if uuid.success and int.from_bytes(uuid.value[0], "big") == IMPLEMENTATION_SLOT:
        # ERC-1822: the implementation upgrades itself; who may call upgradeTo is the implementation's owner.
        return ProxyInfo(address, "uups", "uups", implementation, admin, admin_why=None if admin else "see owner")
    if admin is not None:
        return ProxyInfo(address, "transparent", "eip1967-admin-slot", implementation, admin)
    immutables = [a for a in immutable_addresses(code) if a != implementation]
    if len(immutables) == 1:
        return ProxyInfo(address, "transparent", "immutable-admin", implementation, immutables[0])
    why = (
        "the EIP-1967 admin slot is empty and the proxy's code holds no immutable address"
        if not immutables
        else f"the EIP-1967 admin slot is empty and the proxy's code holds {len(immutables)} immutable addresses"
    )
    return ProxyInfo(address, "eip1967", "eip1967", implementation, None, admin_why=why)


def beacon_proxy(address: str, beacon: str, implementation: CallResult, owner: CallResult) -> ProxyInfo:
    impl = to_checksum_address(implementation.value[0]) if implementation.success else None
    admin = to_checksum_address(owner.value[0]) if owner.success else None
    why = None if admin else f"the beacon {beacon} answers no owner(): {owner.error}"
    return ProxyInfo(address, "beacon", "eip1967-beacon", impl, admin, beacon, admin_why=why)


@dataclass(frozen=True, slots=True)
class OlderAnswers:
    """A contract's answers to `OLDER_PATTERN_CALLS`, in that order."""

    comptroller_implementation: CallResult
    implementation: CallResult
    admin: CallResult
    master_copy: CallResult
    proxy_type: CallResult
    kernel: CallResult
    acl: CallResult


def older_proxy(address: str, answers: OlderAnswers) -> ProxyInfo:
    """A proxy of a pattern older than EIP-1967, told by what it answers: comptrollerImplementation() (Compound's
    Unitroller), implementation() with admin() (Compound's CErc20Delegator: cDAI, cUSDC ...), masterCopy() (Safe)."""
    if answers.comptroller_implementation.success:
        return _admin_proxy(address, "compound-unitroller", answers.comptroller_implementation, answers.admin)
    if answers.proxy_type.success and answers.implementation.success:
        return erc897_proxy(address, answers)
    if answers.implementation.success and answers.admin.success:
        # implementation() alone marks no proxy (a beacon answers it); with admin() it is Compound's delegator.
        return _admin_proxy(address, "compound-delegator", answers.implementation, answers.admin)
    safe = answers.master_copy
    if safe.success:
        # A Safe proxy upgrades only through its own multisig (changeMasterCopy from itself).
        singleton = to_checksum_address(safe.value[0])
        return ProxyInfo(address, "custom", "safe-proxy", singleton, address)
    return ProxyInfo(address, "none", "none", admin_why="not a proxy")


def erc897_proxy(address: str, answers: OlderAnswers) -> ProxyInfo:
    """An ERC-897 proxy. An Aragon app's (``kernel()`` answers) is upgraded by the kernel's ``setApp``, so the kernel
    is its admin; who may call that is the ACL's business (followed in `aragon.aragon_chain`)."""
    implementation = to_checksum_address(answers.implementation.value[0])
    proxy_type = int(answers.proxy_type.value[0])
    if answers.kernel.success:
        kernel = to_checksum_address(answers.kernel.value[0])
        if proxy_type == ERC897_UPGRADEABLE:
            return ProxyInfo(address, "custom", "aragon-app", implementation, kernel)
        why = f"an Aragon pinned app (ERC-897 proxyType {proxy_type}): its kernel {kernel} cannot change its code"
        return ProxyInfo(address, "custom", "aragon-app-pinned", implementation, admin_why=why)
    if answers.acl.success and proxy_type == ERC897_UPGRADEABLE:
        # aragonOS's KernelProxy: its code is the core app of its own registry, changed by its own setApp.
        return ProxyInfo(address, "custom", "aragon-kernel", implementation, address)
    why = f"an ERC-897 proxy (proxyType {proxy_type}) does not say who may change its implementation"
    return ProxyInfo(address, "custom", "erc897", implementation, admin_why=why)


def _admin_proxy(address: str, pattern: str, implementation: CallResult, admin_call: CallResult) -> ProxyInfo:
    admin = to_checksum_address(admin_call.value[0]) if admin_call.success else None
    why = None if admin else f"admin() failed: {admin_call.error}"
    return ProxyInfo(address, "custom", pattern, to_checksum_address(implementation.value[0]), admin, admin_why=why)
