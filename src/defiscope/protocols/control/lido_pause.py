"""Lido stETH's pause powers, read from its Aragon ACL: who may stop the protocol or pause staking.

    powers = await steth_pause_powers(rounds, steth)   # (PausePower("stop ...", (voting,), ...), PausePower(...))

Mainnet's Lido (lidofinance/core ``contracts/0.4.24/Lido.sol``): ``stop()`` needs PAUSE_ROLE and stops the protocol
(StETH's ``_transferShares`` checks ``_whenNotStopped``: no transfer, no report) and pauses staking; ``pauseStaking()``
needs STAKING_PAUSE_ROLE and refuses submits alone. Both are checked by the app's ``canPerform``: the kernel's
``hasPermission(who, steth, role, "")``. The roles are keccak256 of their names (the contract's constants), so they
are not asked. Whether it is stopped or its staking paused now (``isStopped()``, ``isStakingPaused()``, asked with
``kernel()``) is said in each power's source.

Who holds each is read as the Aragon reads read APP_MANAGER_ROLE (`aragon.acl_role_holders`): the SetPermission events
naming stETH as the app (`Rounds.grants`, asked in the first round with ``kernel()``), kept when the kernel's ACL
emitted them, each candidate confirmed by the kernel's ``hasPermission`` at the pinned block, with the role's manager
(who may grant it to anyone, itself included: a holder in effect). Each holder's chain is followed by the profile
(Lido's Voting: a ``governor``). The candidates are classified ahead while they are confirmed, so the reads fit the
rounds the stETH admin chain takes already (kernel, ACL, holders). An ACL that cannot be read leaves both powers
unread, with why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from eth_utils import keccak, to_checksum_address

from defiscope.chain.multicall import Call
from defiscope.protocols.control import surface
from defiscope.protocols.control.aragon import AclRole, AclUnread, acl_role_holders, chain_ahead, role_detail
from defiscope.protocols.control.rounds import Rounds

if TYPE_CHECKING:
    from defiscope.protocols.control.profile import PausePower

#: stETH's pause powers: what each role stops, by the role's name (a power's name starts with "pause": the control
#: score counts it, `rules.pause_points`).
STETH_PAUSE_ROLES: Final = (
    ("PAUSE_ROLE", "pause stETH: stop transfers, submits and oracle reports"),
    ("STAKING_PAUSE_ROLE", "pause staking (submits)"),
)


async def steth_pause_powers(rounds: Rounds, steth: str) -> tuple[PausePower, ...]:
    """PAUSE_ROLE's and STAKING_PAUSE_ROLE's holders and managers on ``steth`` (see the module docstring)."""
    from defiscope.protocols.control.profile import PausePower  # here: profile imports this module

    steth = to_checksum_address(steth)
    rounds.prefetch(granted_on=[steth])
    calls = [Call.of(steth, s) for s in (surface.KERNEL, surface.IS_STOPPED, surface.IS_STAKING_PAUSED)]
    kernel_answer, stopped, staking_paused = await rounds.values(calls)
    kernel = to_checksum_address(kernel_answer)
    now = [f"now {'stopped' if stopped else 'running'}", f"staking {'paused' if staking_paused else 'open'}"]
    (acl_answer,) = await rounds.values([Call.of(kernel, surface.ACL)])
    acl = to_checksum_address(acl_answer)
    roles = [AclRole(name, keccak(text=name), steth) for name, _ in STETH_PAUSE_ROLES]
    try:
        held = await rounds.gather(
            *(
                acl_role_holders(rounds, kernel, acl, role, ahead=lambda c: chain_ahead(rounds, c), by_app=True)
                for role in roles
            )
        )
    except AclUnread as exc:
        why = f"not read: the Aragon ACL {acl}: {exc.why}"
        return tuple(PausePower(power, (), f"Aragon ACL {acl} {name}", why=why) for name, power in STETH_PAUSE_ROLES)
    return tuple(
        PausePower(power, h.controllers, f"Aragon ACL {acl} {role_detail(h)} ({', '.join(now)})")
        for (_, power), h in zip(STETH_PAUSE_ROLES, held, strict=True)
    )
