"""Curve's DAO on the devnet, as on mainnet: an Aragon kernel and ACL, Curve's Ownership Agent (an Agent app, the
admin of Curve's AddressProvider and so of its main registry, and of the stable-ng, twocrypto-ng and tricrypto-ng
factories) and its Ownership Voting (a Voting app, the only holder and manager of the Agent's EXECUTE_ROLE and of the
kernel's APP_MANAGER_ROLE).

Example::

    app = deploy_curve_dao(sender)                     # account 0 may make the Agent act while Curve is set up
    agent_execute(sender, app.proxy, provider, data)   # the AddressProvider's admin-only calls, through the Agent
    dao = hand_curve_dao_to_voting(sender, app)        # then only a passed Ownership vote makes it act

Mainnet (docs.curve.finance/governance/overview, "Aragon"): Ownership Agent
0x40907540d8a6C65c637785e8f8B742ae6b0b9968, Ownership Voting 0xE478de485ad2fe566d49342Cbd03E49ed7DB3356 (Curve's
modified Aragon Voting, curvefi/curve-aragon-voting: votes weighed by veCRV), 30 % quorum and 51 % support, votes
open 7 days (docs.curve.finance/developer/curve-dao/governance/voting-library). Its kernel 0xad06…D72d and ACL
0xBd06…0369; the Voting manages and holds the Agent's EXECUTE_ROLE, and its RUN_SCRIPT_ROLE has no manager (a public
test recording live reads of 2026-09-20, not read here). Here the Voting's token is a MiniMe
named veCRV: the Voting reads ``balanceOfAt``/``totalSupplyAt`` of it as Curve's reads them of the VotingEscrow
(locking is not replicated). The app ids are Aragon's own repos' (``agent.aragonpm.eth``, ``voting.aragonpm.eth``);
Curve's were not checked.
"""

from __future__ import annotations

from typing import Final

from defiscope.devnet.aragon import (
    EXECUTE_ROLE,
    PCT,
    AragonApp,
    AragonDao,
    VotingSpec,
    agent_to_voting,
    deploy_agent,
    deploy_dao,
    deployer_runs_agent,
    hand_to_voting,
    namehash,
)
from defiscope.devnet.tx import Sender

CURVE_AGENT_APP_ID: Final = namehash("agent.aragonpm.eth")
#: Curve's Ownership Voting: yes > 51 % of the votes cast and > 30 % of veCRV's supply.
CURVE_OWNERSHIP_VOTING: Final = VotingSpec(
    namehash("voting.aragonpm.eth"), "Vote-escrowed CRV", "veCRV", 51 * PCT, 30 * PCT
)


def deploy_curve_dao(sender: Sender) -> AragonApp:
    """The kernel, its ACL and the Ownership Agent (as an `AragonApp`: its proxy is the Agent); account 0 holds
    APP_MANAGER_ROLE and the Agent's EXECUTE_ROLE until `hand_curve_dao_to_voting`."""
    kernel, acl = deploy_dao(sender)
    agent = deploy_agent(sender, kernel, CURVE_AGENT_APP_ID)
    deployer_runs_agent(sender, acl, agent.address)
    return AragonApp(agent, kernel, acl, CURVE_AGENT_APP_ID)


def hand_curve_dao_to_voting(sender: Sender, app: AragonApp) -> AragonDao:
    """The Ownership Voting alone holds and manages the kernel's APP_MANAGER_ROLE and the Agent's EXECUTE_ROLE
    (its RUN_SCRIPT_ROLE is never created, as on mainnet: no one holds or manages it)."""
    dao = hand_to_voting(sender, app, CURVE_OWNERSHIP_VOTING)
    agent_to_voting(sender, dao, app.proxy.address, (EXECUTE_ROLE,))
    return dao
