"""Real pool activity on the devnet for the tracker tests: V2 swaps, mints and burns; V3 swaps, mints and
burns (through `V3PoolCaller`, burns straight on the pool, whose position owner is account 0); Curve
exchanges, deposits, withdrawals and A ramps (through the PoolProxy). Each action is one mined transaction from
account 0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from web3.types import TxParams

from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from tests.protocols.uniswap_v3.kit import CALLER_MINT, CALLER_SWAP, Fn, fund_owner_hugely

TRANSFER = Fn("transfer", ("address", "uint256"), ("bool",))
APPROVE = Fn("approve", ("address", "uint256"), ("bool",))
BALANCE_OF = Fn("balanceOf", ("address",), ("uint256",))
V2_SWAP = Fn("swapExactTokensForTokens", ("uint256", "uint256", "address[]", "address", "uint256"), ("uint256[]",))
V2_MINT = Fn("mint", ("address",), ("uint256",))
V2_BURN = Fn("burn", ("address",), ("uint256", "uint256"))
V3_BURN = Fn("burn", ("int24", "int24", "uint128"), ("uint256", "uint256"))
MIN_SQRT_RATIO, MAX_SQRT_RATIO = 4295128739, 1461446703485210103287273052203988016731763904518


#: The PoolProxy's passthroughs to a pool's A ramp (the pool's address first).
CURVE_PROXY_FNS = {
    "ramp": Fn("ramp_A", ("address", "uint256", "uint256"), ()),
    "stop_ramp": Fn("stop_ramp_A", ("address",), ()),
}


def curve_fns(n: int) -> dict[str, Fn]:
    array = f"uint256[{n}]"
    return {
        "exchange": Fn("exchange", ("int128", "int128", "uint256", "uint256"), ("uint256",)),
        "add": Fn("add_liquidity", (array, "uint256"), ("uint256",)),
        "remove": Fn("remove_liquidity", ("uint256", array), (array,)),
        "remove_one": Fn("remove_liquidity_one_coin", ("uint256", "int128", "uint256"), ("uint256",)),
    }


@dataclass(slots=True)
class Trader:
    sender: Sender
    chain: DevnetChain

    @classmethod
    def funded(cls, chain: DevnetChain) -> Trader:
        sender = Sender.connect(chain.rpc_url)
        sender.rpc("evm_setAutomine", [True])  # other tests may leave the node mining on an interval
        fund_owner_hugely(sender, chain)
        return cls(sender, chain)

    @property
    def me(self) -> str:
        return self.sender.owner

    def send(self, to: str, fn: Fn, *args: Any) -> None:
        tx = cast(TxParams, {"from": self.me, "to": to, "data": fn.calldata(*args), "gas": 5_000_000})
        sent = self.sender.w3.eth.send_transaction(tx)
        receipt = self.sender.w3.eth.wait_for_transaction_receipt(sent, timeout=10, poll_latency=0.002)
        assert receipt["status"] == 1, (fn.name, args)

    def read(self, to: str, fn: Fn, *args: Any) -> Any:
        call = cast(TxParams, {"to": to, "data": fn.calldata(*args)})
        return fn.decode(self.sender.w3.eth.call(call).to_0x_hex())[0]

    def balance(self, token: str, holder: str) -> int:
        return int(self.read(token, BALANCE_OF, holder))

    def next_block_at(self, seconds_after_head: int) -> int:
        timestamp = int(self.sender.w3.eth.get_block("latest")["timestamp"]) + seconds_after_head
        self.sender.rpc("evm_setNextBlockTimestamp", [timestamp])
        return timestamp

    # ------------------------------------------------------------- V2

    def v2_swap(self, router: str, token_in: str, token_out: str, amount: int) -> None:
        self.send(token_in, APPROVE, router, MAX_UINT256)
        self.send(router, V2_SWAP, amount, 0, [token_in, token_out], self.me, DEADLINE)

    def v2_mint(self, pair: str, token0: str, token1: str, amount0: int, amount1: int) -> None:
        self.send(token0, TRANSFER, pair, amount0)
        self.send(token1, TRANSFER, pair, amount1)
        self.send(pair, V2_MINT, self.me)

    def v2_burn(self, pair: str, share: int) -> None:
        """Burn 1/share of account 0's LP tokens of the pair."""
        self.send(pair, TRANSFER, pair, self.balance(pair, self.me) // share)
        self.send(pair, V2_BURN, self.me)

    # ------------------------------------------------------------- V3

    def v3_swap(self, pool: str, zero_for_one: bool, amount: int) -> None:
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        self.send(self.chain.contracts["V3PoolCaller"], CALLER_SWAP, pool, self.me, zero_for_one, amount, limit)

    def v3_mint(self, pool: str, lower: int, upper: int, liquidity: int) -> None:
        self.send(self.chain.contracts["V3PoolCaller"], CALLER_MINT, pool, self.me, lower, upper, liquidity)

    def v3_burn(self, pool: str, lower: int, upper: int, liquidity: int) -> None:
        self.send(pool, V3_BURN, lower, upper, liquidity)

    # ------------------------------------------------------------- Curve

    def curve(self, pool: str, n: int, action: str, *args: Any) -> None:
        self.send(pool, curve_fns(n)[action], *args)

    def curve_admin(self, proxy: str, pool: str, action: str, *args: Any) -> None:
        """An A ramp of a registry pool, through its owner, the PoolProxy, as its parameter admin (account 0 must
        have been made it: `defiscope.devnet.curve.vote_pool_proxy_admins`)."""
        self.send(proxy, CURVE_PROXY_FNS[action], pool, *args)
