"""Staking fixtures: the devnet's Lido and EigenLayer contracts, a test-side oracle, a pinned reader."""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import LIDO_APP_ID, deploy_aragon_app
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.eigenlayer import BACKING_EIGEN, DEPOSITS, PODS, VALIDATOR_ETH, whitelisted_strategies
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from tests.tvl.conftest import kit, make_engine, sender  # noqa: F401  (fixtures)

ETHER = 10**18


@pytest.fixture
def lido(eth_chain: DevnetChain, sender: Sender) -> LidoDevnet:  # noqa: F811
    c = eth_chain.contracts
    return LidoDevnet(
        steth=sender.contract(contract_artifact("Lido"), c["LidoStETH"]),
        wsteth=sender.contract(contract_artifact("WstETH"), c["LidoWstETH"]),
        queue=sender.contract(contract_artifact("WithdrawalQueue"), c["LidoWithdrawalQueue"]),
        oracle=sender.contract(contract_artifact("AccountingOracle"), c["LidoAccountingOracle"]),
        kernel=sender.contract(contract_artifact("AragonKernel"), c["LidoKernel"]),
    )


def unreported_lido(sender: Sender, deployment: Deployment) -> Deployment:  # noqa: F811
    """`deployment` with a Lido just bootstrapped (Lido V2's 1 ETH to 0xdead) in place of its own: before its first
    oracle report."""
    artifact = contract_artifact("Lido")
    fresh = deploy_aragon_app(sender, sender.deploy(artifact).address, app_id=LIDO_APP_ID).proxy.address
    unwired = ["0x" + "00" * 20] * 4  # no oracle, queue or fee recipients: as the constructor-bootstrapped one was
    sender.send(sender.contract(artifact, fresh).functions.initialize(*unwired), value=10**18)
    return replace(deployment, contracts={**deployment.contracts, "LidoStETH": fresh})


def eigen_contract(send: Sender, chain: DevnetChain, name: str, artifact: str) -> Contract:
    return send.contract(contract_artifact(artifact), chain.contracts[name])


async def pinned_reader(client: ChainClient, scope: str = "test") -> Reader:
    return Batcher(await client.snapshot()).reader(scope)


#: Natively restaked ETH: the seeded pods' validators at 32 ETH each.
NATIVE = sum(validators for _, validators, _ in PODS) * VALIDATOR_ETH


def native(operator: int) -> int:
    """Wei of beacon-chain ETH the seed restaked in pods delegated to ``operator``."""
    return sum(validators for _, validators, to in PODS if to == operator) * VALIDATOR_ETH


def token_of(chain: DevnetChain, symbol: str) -> str:
    """A strategy token's address: bEIGEN is a registry contract (as on mainnet), the others tokens."""
    return chain.contracts[BACKING_EIGEN] if symbol == "bEIGEN" else chain.tokens[symbol]


def strategy_of(send: Sender, chain: DevnetChain, symbol: str) -> str:
    """The whitelisted strategy of ``symbol``'s token (found from the whitelist events, as the adapter does)."""
    return whitelisted_strategies(send, chain.contracts["EigenLayerStrategyManager"])[token_of(chain, symbol)]


def deposited(symbol: str, operator: int | None = None) -> int:
    """Wei of ``symbol`` the seed deposited (to one operator's delegators, or all)."""
    return ETHER * sum(amounts.get(symbol, 0) for _, amounts, to in DEPOSITS if operator is None or to == operator)
