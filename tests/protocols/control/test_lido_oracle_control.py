"""Lido's AccountingOracle on the devnet, shaped as on mainnet: behind Lido's OssifiableProxy whose admin is the DAO
Agent, which also holds its DEFAULT_ADMIN_ROLE, so its chain is the Agent's, ending at the DAO Voting. An EOA granted
DEFAULT_ADMIN_ROLE by a passed vote (the Agent's own grantRole) joins a fork at the oracle and caps the score."""

from __future__ import annotations

import pytest
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import AragonDao, aragon_dao, calls_script, run_vote
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface

DEFAULT_ADMIN_ROLE = b"\0" * 32


async def _oracle_control(client: ChainClient, deployment: Deployment) -> ContractControl:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["LidoAccountingOracle"]]
    return control


def _lido_oracle(eth_chain: DevnetChain, deployment: Deployment) -> tuple[Sender, AragonDao, Contract, Contract]:
    """A sender, Lido's Aragon DAO, the Agent administering the AccountingOracle's proxy, and the oracle."""
    sender = Sender.connect(eth_chain.rpc_url)
    address = deployment.contracts["LidoAccountingOracle"]
    dao, agent = aragon_dao(sender, deployment.contracts["LidoStETH"]), _agent(sender, address)
    return sender, dao, agent, sender.contract(contract_artifact("AccountingOracle"), address)


def _agent(sender: Sender, oracle: str) -> Contract:
    proxy = sender.contract(contract_artifact("OssifiableProxy"), oracle)
    return sender.contract(contract_artifact("AragonAgent"), proxy.functions.proxy__getAdmin().call())


async def test_the_oracle_is_an_agent_administered_proxy_whose_chain_ends_at_the_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    _, dao, agent, oracle = _lido_oracle(eth_chain, deployment)
    assert oracle.functions.hasRole(DEFAULT_ADMIN_ROLE, agent.address).call()
    control = await _oracle_control(client, deployment)
    assert control.proxy.kind != "none"
    assert control.proxy.admin == agent.address
    assert [(link.kind, link.address) for link in control.admin_chain] == [
        ("contract", agent.address),
        ("governor", dao.voting.address),
    ]
    score, rule, _ = contract_score(control)
    assert rule.startswith("control.governor-")
    assert score > 10


async def test_an_eoa_granted_default_admin_by_a_vote_joins_a_fork_and_scores_as_an_eoa(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender, dao, agent, oracle = _lido_oracle(eth_chain, deployment)
    eoa = sender.accounts[6]
    with pytest.raises(ContractLogicError):  # only the role's admin, the Agent, may grant it
        sender.send(oracle.functions.grantRole(DEFAULT_ADMIN_ROLE, eoa))
    grant = bytes.fromhex(oracle.encode_abi("grantRole", args=[DEFAULT_ADMIN_ROLE, eoa])[2:])
    execute = agent.encode_abi("execute", args=[oracle.address, 0, grant])
    run_vote(sender, dao, calls_script((agent.address, bytes.fromhex(execute[2:]))))
    assert oracle.functions.hasRole(DEFAULT_ADMIN_ROLE, eoa).call()

    control = await _oracle_control(client, deployment)
    (fork,) = control.admin_chain
    assert (fork.kind, fork.address) == ("contract", oracle.address)
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {agent.address: "contract", eoa: "eoa"}
    assert contract_score(control)[:2] == (10, "control.eoa-no-delay")
