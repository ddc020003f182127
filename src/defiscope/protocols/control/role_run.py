"""Contracts run by AccessControl roles rather than (or besides) an owner or a proxy admin: who holds the roles
that may change them is their admin.

    run = ROLE_RUN["aave/IAaveOracle"]        # the market's ACLManager POOL_ADMIN and ASSET_LISTING_ADMIN roles
    link = await roles_link(rounds, oracle, run, ask_ahead=lambda c: classify(rounds, c))
    link.kind, link.controllers               # "contract", (holders of either role...)

- Aave's **AaveOracle** is not a proxy and has no owner: ``setAssetSources`` and ``setFallbackOracle`` are
  ``onlyAssetListingOrPoolAdmins``, checked against ``ADDRESSES_PROVIDER().getACLManager()`` at each call, so its
  admin is the holders of that ACLManager's ASSET_LISTING_ADMIN_ROLE and POOL_ADMIN_ROLE (`aave.acl_role_holders`).
- Lido's **AccountingOracle** is an OssifiableProxy (admin: Lido's Agent) whose DEFAULT_ADMIN_ROLE (its own
  AccessControl) grants every other role, the consensus contract's among them: its admin is the proxy admin and the
  role's holders (one controller when they are the same account, as on mainnet).

Holders come from RoleGranted/RoleRevoked events, confirmed with ``hasRole`` (`roles.role_holders`). A role that
cannot be read, or that nobody holds, makes the link ``unknown`` with why: never "no admin".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.protocols.control.aave import acl_run_link
from defiscope.protocols.control.admin import AdminLink
from defiscope.protocols.control.roles import AskAhead, role_holders
from defiscope.protocols.control.rounds import Rounds
from defiscope.protocols.control.surface import (
    ADDRESSES_PROVIDER,
    ASSET_LISTING_ADMIN_ROLE,
    DEFAULT_ADMIN_ROLE,
    POOL_ADMIN_ROLE,
)


@dataclass(frozen=True, slots=True)
class RoleRun:
    """The roles (their id getters, such as ``POOL_ADMIN_ROLE()``) whose holders run a contract; ``aave_acl``: they
    are its Aave market's ACLManager's (named through its ``ADDRESSES_PROVIDER()``), else its own."""

    roles: tuple[str, ...]
    aave_acl: bool = False

    def first_calls(self, address: str) -> list[Call]:
        """What is asked of the contract itself, in its first round."""
        if self.aave_acl:
            return [Call.of(address, ADDRESSES_PROVIDER)]
        return [Call.of(address, role) for role in self.roles]

    @property
    def names(self) -> str:
        return " or ".join(role.split("(")[0] for role in self.roles)


#: Interfaces (as a `ContractUse` declares them) run by role holders (module docstring).
ROLE_RUN: Final[Mapping[str, RoleRun]] = {
    "aave/IAaveOracle": RoleRun((ASSET_LISTING_ADMIN_ROLE, POOL_ADMIN_ROLE), aave_acl=True),
    "lido/AccountingOracle": RoleRun((DEFAULT_ADMIN_ROLE,)),
}


async def roles_link(rounds: Rounds, address: str, run: RoleRun, *, ask_ahead: AskAhead) -> AdminLink:
    """The contract's link as run by ``run``'s holders: ``contract``, its controllers the holders of any of the
    roles (candidates started with ``ask_ahead``); ``unknown`` with why when a role is unread or held by no one."""
    if run.aave_acl:
        link = await acl_run_link(rounds, address, run.roles, ask_ahead)
    else:
        link = await _own_roles_link(rounds, address, run, ask_ahead)
    if link.kind != "unknown" and not link.controllers:
        why = f"no holder of {run.names} found from its role events"
        return AdminLink(address, "unknown", detail=link.detail, why=why)
    return link


async def _own_roles_link(rounds: Rounds, address: str, run: RoleRun, ask_ahead: AskAhead) -> AdminLink:
    detail = f"AccessControl: run by its {run.names} holders"
    ids = await rounds.call_many(run.first_calls(address))
    failed = [f"{role} failed: {r.error}" for role, r in zip(run.roles, ids, strict=True) if not r.success]
    if failed:
        return AdminLink(address, "unknown", detail=detail, why="; ".join(failed))
    held = await rounds.gather(*(role_holders(rounds, address, bytes(r.value[0]), ask_ahead=ask_ahead) for r in ids))
    holders = tuple(dict.fromkeys(h for found in held for h in found))
    return AdminLink(address, "contract", controllers=holders, detail=detail)
