"""Acting on the devnet's Aave V3 market through its real contracts: fund, supply, borrow, repay, time, prices."""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.aave_governance_v3 import pool_admin
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain

VARIABLE = 2


def fresh_address(label: str) -> ChecksumAddress:
    return Web3.to_checksum_address(Web3.keccak(text=f"aave test {label}")[12:])


@dataclass(slots=True)
class AaveKit:
    chain: DevnetChain
    deployment: Deployment
    sender: Sender

    @classmethod
    def connect(cls, chain: DevnetChain, deployment: Deployment) -> AaveKit:
        return cls(chain, deployment, Sender.connect(chain.rpc_url))

    # ---------------------------------------------------------------- contracts

    @property
    def pool(self) -> Contract:
        return self.sender.contract(aave_artifact("protocol/pool/Pool"), self.deployment.contract("AaveV3Pool"))

    @property
    def configurator(self) -> Contract:
        artifact = aave_artifact("protocol/pool/PoolConfigurator")
        return self.sender.contract(artifact, self.deployment.contract("AaveV3PoolConfigurator"))

    @property
    def pool_admin(self) -> ChecksumAddress:
        """Who configures the market, as on mainnet Governance V3's level-1 executor: impersonated, with gas."""
        admin = Web3.to_checksum_address(pool_admin(self.deployment.contracts))
        self.sender.rpc("anvil_impersonateAccount", [admin])
        self.sender.rpc("anvil_setBalance", [admin, hex(10**18)])
        return admin

    def token(self, symbol: str) -> Contract:
        return self.sender.contract(contract_artifact("DevToken"), self.deployment.token(symbol).address)

    def feed(self, pair: str) -> Contract:
        return self.sender.contract(contract_artifact("PriceFeed"), self.deployment.feeds[pair].address)

    # ---------------------------------------------------------------- actions

    def user(self, label: str, eth: int = 10**18) -> ChecksumAddress:
        address = fresh_address(label)
        self.sender.rpc("anvil_impersonateAccount", [address])
        self.sender.rpc("anvil_setBalance", [address, hex(eth)])
        return address

    def fund(self, to: str, symbol: str, amount: int) -> None:
        token = self.token(symbol)
        if symbol == "WETH":
            weth = self.sender.contract(npm_artifact("WETH9"), token.address)
            self.sender.send(weth.functions.deposit(), value=amount)
        self.sender.send(token.functions.transfer(to, amount))
        self.sender.send(token.functions.approve(self.pool.address, MAX_UINT256), sender=Web3.to_checksum_address(to))

    def supply(self, user: ChecksumAddress, symbol: str, amount: int, *, fund: bool = True) -> None:
        if fund:
            self.fund(user, symbol, amount)
        self.sender.send(self.pool.functions.supply(self.token(symbol).address, amount, user, 0), sender=user)

    def borrow(self, user: ChecksumAddress, symbol: str, amount: int) -> None:
        asset = self.token(symbol).address
        self.sender.send(self.pool.functions.borrow(asset, amount, VARIABLE, 0, user), sender=user)

    def repay(self, user: ChecksumAddress, symbol: str, amount: int) -> None:
        asset = self.token(symbol).address
        self.sender.send(self.token(symbol).functions.approve(self.pool.address, MAX_UINT256), sender=user)
        self.sender.send(self.pool.functions.repay(asset, amount, VARIABLE, user), sender=user)

    def withdraw(self, user: ChecksumAddress, symbol: str, amount: int) -> None:
        asset = self.token(symbol).address
        self.sender.send(self.pool.functions.withdraw(asset, amount, user), sender=user)

    def advance(self, seconds: int) -> None:
        self.sender.rpc("evm_increaseTime", [seconds])
        self.sender.rpc("evm_mine", [])

    def set_price(self, pair: str, answer: int) -> None:
        self.sender.send(self.feed(pair).functions.updateAnswer(answer))

    def price(self, pair: str) -> int:
        return int(self.feed(pair).functions.latestAnswer().call())

    def now(self) -> int:
        return int(self.sender.w3.eth.get_block("latest")["timestamp"])

    # ---------------------------------------------------------------- reading through defiscope

    async def reader(self, client: ChainClient, scope: str = "aave-v3") -> Reader:
        return Batcher(await client.snapshot()).reader(scope)
