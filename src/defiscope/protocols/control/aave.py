"""Aave V3's admin links: the PoolConfigurator through the market's ACL, and Governance V3 to its vote.

    link = await aave_link(rounds, configurator, ask_ahead=lambda a: classify(rounds, a))
    link.kind, link.controllers   # "contract", ("0x5300…",): the ACLManager's POOL_ADMIN_ROLE holders

`admin.classify` asks `aave_calls` of every account with its other probes (one round), then this module tells:

- an Aave **PoolConfigurator** (aTokens' and debt tokens' admin): answers ``CONFIGURATOR_REVISION()`` and nothing
  naming its market, but its proxy keeps the PoolAddressesProvider as an immutable admin, and that provider's
  ``getPoolConfigurator()`` names it back. It acts for whoever holds the provider's ACLManager's POOL_ADMIN_ROLE
  (id from ``POOL_ADMIN_ROLE()``; holders from RoleGranted/RoleRevoked, confirmed with ``hasRole``): a
  ``contract`` link whose controllers are those holders;
- a Governance V3 **PayloadsController** (``MESSAGE_ORIGINATOR()``, ``ORIGIN_CHAIN_ID()``, the executors by access
  level): a ``timelock`` — a payload waits its executor's delay once the governance queued it — controlled by the
  GovernanceCore that queues, when that is on this chain (mainnet's other chains: Ethereum's, across a bridge,
  which ends the chain with why);
- a Governance V3 **GovernanceCore** (``getPowerStrategy()``, ``COOLDOWN_PERIOD()``): a ``governor``, the end;
- Governance V2's **ExecutorWithTimelock** (``getDelay()``, ``getAdmin()``): a ``timelock`` controlled by its admin,
  **AaveGovernanceV2** (``getGovernanceStrategy()``, ``getVotingDelay()``): a ``governor``.

These come before ``owner()``: on mainnet the PayloadsController and GovernanceCore are Ownable by Executor_lvl1,
whose owner is the PayloadsController (a cycle that says nothing of who decides); AaveGovernanceV2 is Ownable by its
long executor. Anything else: None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from eth_utils import to_checksum_address

from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.control.admin import AdminLink
from defiscope.protocols.control.proxy import immutable_addresses
from defiscope.protocols.control.roles import AskAhead, role_holders
from defiscope.protocols.control.rounds import Rounds
from defiscope.protocols.control.surface import (
    ADDRESSES_PROVIDER,
    CONFIGURATOR_REVISION,
    COOLDOWN_PERIOD,
    GET_ACL_MANAGER,
    GET_ADMIN,
    GET_DELAY,
    GET_EXECUTOR_SETTINGS,
    GET_GOVERNANCE_STRATEGY,
    GET_POOL_CONFIGURATOR,
    GET_POWER_STRATEGY,
    GET_VOTING_DELAY,
    MESSAGE_ORIGINATOR,
    ORIGIN_CHAIN_ID,
    POOL_ADMIN_ROLE,
)

#: PayloadsControllerUtils.AccessControl levels with an executor (Level_1: the pool admin's; Level_2: long).
ACCESS_LEVELS: Final = (1, 2)
AAVE_PROBES: Final = (
    CONFIGURATOR_REVISION,
    MESSAGE_ORIGINATOR,
    ORIGIN_CHAIN_ID,
    GET_POWER_STRATEGY,
    COOLDOWN_PERIOD,
    GET_DELAY,
    GET_ADMIN,
    GET_GOVERNANCE_STRATEGY,
    GET_VOTING_DELAY,
)


def aave_calls(address: str) -> list[Call]:
    """What tells an Aave contract apart, asked of every account `classify` probes."""
    levels = [Call.of(address, GET_EXECUTOR_SETTINGS, level) for level in ACCESS_LEVELS]
    return [*(Call.of(address, s) for s in AAVE_PROBES), *levels]


async def aave_link(rounds: Rounds, address: str, *, ask_ahead: AskAhead) -> AdminLink | None:
    """The link ``address`` makes as an Aave admin contract, or None when it is none of them (module docstring)."""
    results = await rounds.call_many(aave_calls(address))
    answers, levels = dict(zip(AAVE_PROBES, results, strict=False)), results[len(AAVE_PROBES) :]
    if _ok(answers, GET_POWER_STRATEGY, COOLDOWN_PERIOD):
        strategy = to_checksum_address(answers[GET_POWER_STRATEGY].value[0])
        cooldown = int(answers[COOLDOWN_PERIOD].value[0])
        detail = f"Aave GovernanceCore: votes weighed by power strategy {strategy}; cool-down {cooldown} s to execute"
        return AdminLink(address, "governor", detail=detail)
    if _ok(answers, GET_GOVERNANCE_STRATEGY, GET_VOTING_DELAY):
        strategy = to_checksum_address(answers[GET_GOVERNANCE_STRATEGY].value[0])
        return AdminLink(address, "governor", detail=f"AaveGovernanceV2: votes weighed by strategy {strategy}")
    if _ok(answers, GET_DELAY, GET_ADMIN):
        admin, delay = to_checksum_address(answers[GET_ADMIN].value[0]), int(answers[GET_DELAY].value[0])
        detail = "Aave ExecutorWithTimelock (Governance V2)"
        return AdminLink(address, "timelock", delay_seconds=delay, controllers=(admin,), detail=detail)
    if _ok(answers, MESSAGE_ORIGINATOR, ORIGIN_CHAIN_ID) and any(r.success for r in levels):
        return _payloads_controller(rounds.chain_id, address, answers, levels)
    if _ok(answers, CONFIGURATOR_REVISION):
        return await _pool_configurator(rounds, address, ask_ahead)
    return None


def _ok(answers: Mapping[str, CallResult], *signatures: str) -> bool:
    return all(answers[s].success for s in signatures)


def _payloads_controller(
    chain_id: int, address: str, answers: Mapping[str, CallResult], levels: Sequence[CallResult]
) -> AdminLink:
    """A timelock whose delay is the shortest of its executors' (what the quickest payload waits)."""
    executors = [
        (level, to_checksum_address(r.value[0][0]), int(r.value[0][1]))
        for level, r in zip(ACCESS_LEVELS, levels, strict=True)
        if r.success and int(r.value[0][0], 16)
    ]
    originator = to_checksum_address(answers[MESSAGE_ORIGINATOR].value[0])
    origin_chain = int(answers[ORIGIN_CHAIN_ID].value[0])
    waits = ", ".join(f"level {level} executor {executor} waits {delay} s" for level, executor, delay in executors)
    detail = f"Aave PayloadsController: {waits or 'no executor set'}; payloads queued by {originator}"
    delay = min((d for _, _, d in executors), default=None)
    if origin_chain == chain_id:
        return AdminLink(address, "timelock", delay_seconds=delay, controllers=(originator,), detail=detail)
    why = f"its payloads are queued by {originator} on chain {origin_chain} (through a bridge): not followed there"
    return AdminLink(address, "timelock", delay_seconds=delay, detail=f"{detail} (chain {origin_chain})", why=why)


async def _pool_configurator(rounds: Rounds, address: str, ask_ahead: AskAhead) -> AdminLink:
    """Its provider (an immutable of its proxy that names it back) and that market's POOL_ADMIN_ROLE holders,
    asked side by side: the provider's confirmation costs no round of its own."""
    providers = immutable_addresses(await rounds.code(address))
    named, admins = await rounds.both(
        rounds.call_many([Call.of(p, GET_POOL_CONFIGURATOR) for p in providers]),
        rounds.gather(*(acl_role_holders(rounds, p, (POOL_ADMIN_ROLE,), ask_ahead) for p in providers)),
    )
    found = [
        (provider, admin)
        for provider, answer, admin in zip(providers, named, admins, strict=True)
        if answer.success and to_checksum_address(answer.value[0]) == address
    ]
    if not found:
        why = "answers CONFIGURATOR_REVISION() but no PoolAddressesProvider among its proxy's immutables names it"
        return AdminLink(address, "unknown", detail="Aave PoolConfigurator?", why=why)
    provider, (acl, holders, failure) = found[0]
    detail = f"Aave PoolConfigurator: acts for the POOL_ADMIN_ROLE holders of ACLManager {acl} (provider {provider})"
    if failure is not None:
        return AdminLink(address, "unknown", detail=detail, why=failure)
    return AdminLink(address, "contract", controllers=tuple(holders), detail=detail)


async def acl_role_holders(
    rounds: Rounds, provider: str, roles: Sequence[str], ask_ahead: AskAhead
) -> tuple[str, list[str], str | None]:
    """(ACLManager, holders of any of ``roles`` (their id getters, such as ``POOL_ADMIN_ROLE()``), why not read) of
    the market whose provider is ``provider``."""
    (acl_answer,) = await rounds.call_many([Call.of(provider, GET_ACL_MANAGER)])
    if not acl_answer.success:
        return "", [], f"the provider's getACLManager() failed: {acl_answer.error}"
    acl = to_checksum_address(acl_answer.value[0])
    rounds.prefetch(emitters=[acl])  # its role events, with the roles' ids
    ids = await rounds.call_many([Call.of(acl, role) for role in roles])
    failed = [f"the ACLManager's {role} failed: {r.error}" for role, r in zip(roles, ids, strict=True) if not r.success]
    if failed:
        return acl, [], "; ".join(failed)
    held = await rounds.gather(*(role_holders(rounds, acl, bytes(r.value[0]), ask_ahead=ask_ahead) for r in ids))
    return acl, list(dict.fromkeys(h for holders in held for h in holders)), None


async def acl_run_link(rounds: Rounds, address: str, roles: Sequence[str], ask_ahead: AskAhead) -> AdminLink:
    """The link of a contract of an Aave market run by its ACLManager's ``roles`` (the AaveOracle: its
    ``setAssetSources``/``setFallbackOracle`` are ``onlyAssetListingOrPoolAdmins``): a ``contract`` link whose
    controllers are the holders of any of them, found through its ``ADDRESSES_PROVIDER()``."""
    names = " or ".join(role.split("(")[0] for role in roles)
    (provider_answer,) = await rounds.call_many([Call.of(address, ADDRESSES_PROVIDER)])
    if not provider_answer.success:
        why = f"run by the market's {names} holders, but ADDRESSES_PROVIDER() failed: {provider_answer.error}"
        return AdminLink(address, "unknown", detail="Aave ACL roles", why=why)
    provider = to_checksum_address(provider_answer.value[0])
    acl, holders, failure = await acl_role_holders(rounds, provider, roles, ask_ahead)
    detail = f"Aave ACL roles: run by the {names} holders of ACLManager {acl} (provider {provider})"
    if failure is not None:
        return AdminLink(address, "unknown", detail=detail, why=failure)
    return AdminLink(address, "contract", controllers=tuple(holders), detail=detail)
