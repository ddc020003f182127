"""A Curve owner proxy (the StableSwap Owner Proxy, the old stable factory's admin on mainnet) as a link of an admin
chain, from its probe answers alone (pure: no chain): run by its `ownership_admin()`, the next hop; its parameter and
emergency admins named as powers of the contract, not followed and not scored."""

from __future__ import annotations

from defiscope.analytics.risk.rules import contract_score, control_pillar, pause_points
from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.control import surface
from defiscope.protocols.control.admin import OWNER_PROXY, PROBES, AdminLink, Deputy, _Probe, link_from
from defiscope.protocols.control.profile import (
    DEPUTY_NOT_FOLLOWED,
    FIRST_ADMIN_CALLS,
    ContractControl,
    PausePower,
    deputy_powers,
)
from defiscope.protocols.control.proxy import ProxyInfo

FACTORY, PROXY, AGENT, PARAMETERS, EMERGENCY, VOTING = (f"0x{i:040X}" for i in range(1, 7))


def _probe(answers: dict[str, object]) -> _Probe:
    """The probes of ``PROXY``: those in ``answers`` answered (with it), every other one reverted."""
    results = {
        s: CallResult(Call.of(PROXY, s), s in answers, value=(answers.get(s),), error=None if s in answers else "x")
        for s in PROBES
    }
    return _Probe(results)


def _proxy_link(**admins: str) -> AdminLink:
    calls = {"ownership": surface.OWNERSHIP_ADMIN, "parameter": surface.PARAMETER_ADMIN}
    calls |= {"emergency": surface.EMERGENCY_ADMIN}
    return link_from(PROXY, _probe({calls[k]: v for k, v in admins.items()}), [])


def test_an_owner_proxy_is_run_by_its_ownership_admin_with_the_others_as_deputies() -> None:
    link = _proxy_link(ownership=AGENT, parameter=PARAMETERS, emergency=EMERGENCY)
    assert (link.kind, link.controllers) == ("contract", (AGENT,))  # one controller: the chain goes on through it
    assert link.detail.startswith(f"{OWNER_PROXY}: ownership_admin {AGENT} (")
    assert [(d.via, d.address) for d in link.deputies] == [
        (surface.PARAMETER_ADMIN, PARAMETERS),
        (surface.EMERGENCY_ADMIN, EMERGENCY),
    ]
    assert f"parameter_admin {PARAMETERS} (pool parameters" in link.detail
    assert f"emergency_admin {EMERGENCY} (emergency" in link.detail
    # Curve's GaugeProxy has no parameter admin: only the deputies it answers
    assert [d.via for d in _proxy_link(ownership=AGENT, emergency=EMERGENCY).deputies] == [surface.EMERGENCY_ADMIN]
    # without ownership_admin() it is no owner proxy: not understood, never "safe"
    assert link_from(PROXY, _probe({surface.PARAMETER_ADMIN: PARAMETERS}), []).kind == "unknown"


def test_ownership_admin_is_asked_with_the_first_admin_calls_and_the_probes() -> None:
    assert surface.OWNERSHIP_ADMIN in FIRST_ADMIN_CALLS
    assert {surface.OWNERSHIP_ADMIN, surface.PARAMETER_ADMIN, surface.EMERGENCY_ADMIN} <= set(PROBES)


def _factory(*chain: AdminLink) -> ContractControl:
    proxy = ProxyInfo(FACTORY, "none", "none")
    return ContractControl("factory", "curve/StableFactory", False, proxy, chain, deputy_powers(chain), ())


def test_the_factory_scores_by_the_ownership_admins_chain_and_not_by_its_deputies() -> None:
    owner_proxy = _proxy_link(ownership=AGENT, parameter=PARAMETERS, emergency=EMERGENCY)
    agent = AdminLink(AGENT, "contract", controllers=(VOTING,), detail="Aragon Agent")
    governed = _factory(owner_proxy, agent, AdminLink(VOTING, "governor"))
    assert contract_score(governed)[:2] == (60, "control.governor-no-delay")
    # an EOA ownership admin (one commit_set_admins + apply_set_admins away) scores as an EOA
    held = _factory(_proxy_link(ownership=PARAMETERS, parameter=AGENT), AdminLink(PARAMETERS, "eoa"))
    assert contract_score(held)[:2] == (10, "control.eoa-no-delay")

    parameters, emergency = governed.pause
    assert parameters == PausePower(
        "pool parameters: ramp A, commit new fees of the pools it owns",
        (PARAMETERS,),
        f"parameter_admin() of {PROXY}",
        why=DEPUTY_NOT_FOLLOWED,
    )
    assert (emergency.holders, emergency.holder_chains) == ((EMERGENCY,), ())
    # named, not scored: they take no pause points, and a not-followed holder is no unknown pause
    assert pause_points([governed]) == (0, "no pause power held")
    assert control_pillar([governed]).score == 60


def test_a_renounced_deputy_is_named_by_nobody() -> None:
    zero = "0x" + "00" * 20
    link = AdminLink(PROXY, "contract", controllers=(AGENT,), deputies=(Deputy("pool parameters", "p", zero),))
    (power,) = deputy_powers([link])
    assert power.holders == ()
