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

Curve's Parameter Agent (mainnet 0x4EEb3bA4f221cA16ed4A0cC7254E2E32DF948c5f, run by the Parameter Voting
0xBCfF8B0b9419b9A88c44546519b1e909cF330399 with a 15 % quorum: docs.curve.finance "Agents" page, and Curve DAO vote
scripts' ``CURVE_DAO_PARAM``) is a second Agent app of the same kernel here (`deploy_parameter_agent`), run by the
Ownership Voting: the separate Parameter DAO (its own kernel, Voting and quorum) is not replicated.
"""

from __future__ import annotations

from typing import Final

from web3.contract import Contract

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
from defiscope.devnet.artifacts import contract_artifact
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


def deploy_parameter_agent(sender: Sender, app: AragonApp) -> Contract:
    """A second Agent app of Curve's DAO kernel, standing for the Parameter Agent: same app id, so the Ownership
    Agent's code (no setApp: the Ownership Agent records no upgrade), initialized by its own proxy. No one may make
    it act until `hand_curve_dao_to_voting` names the Ownership Voting."""
    base = contract_artifact("AragonAgent")
    init = bytes.fromhex(sender.contract(base, app.proxy.address).encode_abi("initialize", args=[])[2:])
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), app.kernel.address, app.app_id, init)
    return sender.contract(base, proxy.address)


def hand_curve_dao_to_voting(sender: Sender, app: AragonApp, parameter_agent: str | None = None) -> AragonDao:
    """The Ownership Voting alone holds and manages the kernel's APP_MANAGER_ROLE and the Agent's EXECUTE_ROLE
    (its RUN_SCRIPT_ROLE is never created, as on mainnet: no one holds or manages it); the Parameter Agent's
    EXECUTE_ROLE too (mainnet: the Parameter Voting's, not replicated)."""
    dao = hand_to_voting(sender, app, CURVE_OWNERSHIP_VOTING)
    agent_to_voting(sender, dao, app.proxy.address, (EXECUTE_ROLE,))
    if parameter_agent is not None:
        agent_to_voting(sender, dao, parameter_agent, (EXECUTE_ROLE,))
    return dao
