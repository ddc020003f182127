"""The deployed world: contracts, tokens, feeds and pools answer as specified, through real calls."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, cast

import pytest
from eth_abi import decode, encode
from eth_typing import ABI
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from defiscope.devnet import DevnetChain
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deploy import MULTICALL3_ADDRESS
from defiscope.devnet.spec import BNB, ETHEREUM, PROTOCOL_TOKENS, ChainSpec
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, connect
from defiscope.devnet.uniswap import MAX_TICK, V3_LAYOUT
from tests.proc import started_at

ERC20_ABI = contract_artifact("DevToken").abi


def contract(chain: DevnetChain, abi: list[dict[str, Any]], address: str) -> Contract:
    return connect(chain.rpc_url).eth.contract(address=Web3.to_checksum_address(address), abi=cast(ABI, abi))


def selector(signature: str) -> bytes:
    return Web3.keccak(text=signature)[:4]


@pytest.mark.parametrize("chain_id", [1, 56])
def test_code_at_every_registry_address(devnet: Any, chain_id: int) -> None:
    chain = devnet.chain(chain_id)
    w3 = connect(chain.rpc_url)
    expected = {
        "Multicall3",
        "Reverter",
        "UniswapV2Factory",
        "UniswapV2Router02",
        "UniswapV3Factory",
        "NonfungiblePositionManager",
        "SwapRouter",
        "QuoterV2",
        "TickLens",
    }
    assert expected <= set(chain.contracts)
    for address in [*chain.contracts.values(), *chain.tokens.values(), *(p.address for p in chain.pools)]:
        assert Web3.is_checksum_address(address)
        assert len(w3.eth.get_code(address)) > 100, address
    assert chain.contracts["Multicall3"] == "0xcA11bde05977b3631167028862bE2a173976CA11"
    assert w3.eth.get_code(MULTICALL3_ADDRESS).to_0x_hex() == contract_artifact("Multicall3").deployed_bytecode


def test_canonical_multicall3_aggregate3(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    multicall = contract(eth_chain, contract_artifact("Multicall3").abi, MULTICALL3_ADDRESS)
    reverter = eth_chain.contracts["Reverter"]
    calls = [
        (MULTICALL3_ADDRESS, False, selector("getChainId()")),
        (reverter, True, selector("fail()")),
        (reverter, False, selector("ok()")),
        (eth_chain.tokens["USDC"], False, selector("decimals()")),
    ]
    block = w3.eth.block_number
    results = multicall.functions.aggregate3(calls).call(block_identifier=block)
    assert [success for success, _ in results] == [True, False, True, True]
    assert decode(["uint256"], results[0][1]) == (1,)
    # Error(string) with the reason "always fails".
    assert results[1][1][:4] == selector("Error(string)")
    assert decode(["string"], results[1][1][4:]) == ("always fails",)
    assert decode(["uint256"], results[2][1]) == (42,)
    assert decode(["uint8"], results[3][1]) == (6,)

    with pytest.raises(ContractLogicError, match="Multicall3: call failed"):
        multicall.functions.aggregate3([(reverter, False, selector("fail()"))]).call()

    assert multicall.functions.getBlockNumber().call(block_identifier=block) == block
    assert multicall.functions.getChainId().call() == 1
    owner = w3.eth.accounts[0]
    assert multicall.functions.getEthBalance(owner).call(block_identifier=block) == w3.eth.get_balance(
        owner, block_identifier=block
    )


def test_reverter_custom_error(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    with pytest.raises(ContractLogicError) as info:
        w3.eth.call({"to": eth_chain.contracts["Reverter"], "data": selector("failCustom()")})
    data = info.value.data
    assert isinstance(data, str)
    raw = bytes.fromhex(data.removeprefix("0x"))
    assert raw[:4] == selector("CustomFailure(uint256,string)")
    assert decode(["uint256", "string"], raw[4:]) == (7, "custom")


@pytest.mark.parametrize("spec", [ETHEREUM, BNB], ids=["ethereum", "bnb"])
def test_tokens_are_named_and_sized(devnet: Any, spec: ChainSpec) -> None:
    chain = devnet.chain(spec.chain_id)
    # Protocol tokens (stETH, wstETH, rETH, cbETH) come from their protocols' deployers, not the spec list.
    protocol_tokens = set(PROTOCOL_TOKENS.get(spec.chain_id, {}))
    assert set(chain.tokens) == {token.symbol for token in spec.tokens} | protocol_tokens
    owner = connect(chain.rpc_url).eth.accounts[0]
    user = connect(chain.rpc_url).eth.accounts[5]
    for token in spec.tokens:
        erc20 = contract(chain, ERC20_ABI, chain.tokens[token.symbol])
        assert erc20.functions.decimals().call() == token.decimals
        if token.wrapped_native:
            # The real WETH9 bytecode: its name says WETH even where it stands for WBNB. Its supply is
            # the coin it holds (deposits plus what addLiquidityETH wrapped).
            assert erc20.functions.symbol().call() == "WETH"
            supply = erc20.functions.totalSupply().call()
            assert supply == connect(chain.rpc_url).eth.get_balance(erc20.address)
            assert supply > (token.supply + 9 * token.per_account) * 10**token.decimals
        elif token.contract == "DSToken":
            # MKR's ds-token keeps its symbol as bytes32, as mainnet's MKR does.
            ds = contract(chain, contract_artifact("DSToken").abi, chain.tokens[token.symbol])
            assert ds.functions.symbol().call().rstrip(b"\0").decode() == token.symbol
            assert ds.functions.totalSupply().call() == token.supply * 10**token.decimals
        else:
            assert erc20.functions.symbol().call() == token.symbol
            assert erc20.functions.name().call() == token.name
            if token.contract == "DevToken":
                assert erc20.functions.owner().call() == owner
            # The spec's supply is the total: accounts 1..9 were paid from account 0's mint.
            assert erc20.functions.totalSupply().call() == token.supply * 10**token.decimals
        assert erc20.functions.balanceOf(user).call() == token.per_account * 10**token.decimals


def test_specified_decimals_per_chain(eth_chain: DevnetChain, bnb_chain: DevnetChain) -> None:
    def decimals(chain: DevnetChain, symbol: str) -> int:
        result: int = contract(chain, ERC20_ABI, chain.tokens[symbol]).functions.decimals().call()
        return result

    assert {s: decimals(eth_chain, s) for s in ("USDC", "USDT", "DAI", "WBTC", "wstETH", "LINK", "UNI")} == {
        "USDC": 6,
        "USDT": 6,
        "DAI": 18,
        "WBTC": 8,
        "wstETH": 18,
        "LINK": 18,
        "UNI": 18,
    }
    assert {s: decimals(bnb_chain, s) for s in ("USDT", "USDC", "BTCB", "ETH", "CAKE", "WBNB")} == dict.fromkeys(
        ("USDT", "USDC", "BTCB", "ETH", "CAKE", "WBNB"), 18
    )


def test_only_the_owner_mints(eth_chain: DevnetChain) -> None:
    usdc = contract(eth_chain, ERC20_ABI, eth_chain.tokens["USDC"])
    stranger = connect(eth_chain.rpc_url).eth.accounts[3]
    with pytest.raises(ContractLogicError, match=r"OwnableUnauthorizedAccount|0x118cdaa7"):
        usdc.functions.mint(stranger, 1).call({"from": stranger})


@pytest.mark.parametrize(
    ("chain_id", "answers"),
    [
        (
            1,
            {
                "ETH/USD": 3000,
                "BTC/USD": 100000,
                "USDC/USD": 1,
                "USDT/USD": 1,
                "DAI/USD": 1,
                "LINK/USD": 15,
                "UNI/USD": 8,
                "STETH/USD": 2995,
                "WSTETH/USD": 3600,
                "EIGEN/USD": Fraction(6, 5),
                "WEETH/USD": 3200,
                "COMP/USD": 33,
                "AAVE/USD": 158,
                "MKR/USD": 1320,
                "CRV/USD": Fraction(43, 100),
                "LDO/USD": Fraction(3, 4),
            },
        ),
        (
            56,
            {
                "BNB/USD": 600,
                "ETH/USD": 3000,
                "BTC/USD": 100000,
                "USDT/USD": 1,
                "USDC/USD": 1,
                "CAKE/USD": Fraction(5, 2),
            },
        ),
    ],
)
def test_feeds_answer_latest_round_data(devnet: Any, chain_id: int, answers: dict[str, Fraction]) -> None:
    chain = devnet.chain(chain_id)
    w3 = connect(chain.rpc_url)
    # Whether built or loaded from the cache, this node mined every feed's newest round: at or after its start.
    (node,) = (node for node in devnet.nodes if node.chain_id == chain_id)
    node_started = int(started_at(node.pid)) - 1
    abi = contract_artifact("PriceFeed").abi
    feeds = {name.removeprefix("feed:"): a for name, a in chain.contracts.items() if name.startswith("feed:")}
    assert set(feeds) == set(answers)
    for pair, usd in answers.items():
        feed = contract(chain, abi, feeds[pair])
        assert feed.functions.decimals().call() == 8
        assert feed.functions.description().call() == pair.replace("/", " / ")
        round_id, answer, round_started, updated_at, answered_in = feed.functions.latestRoundData().call()
        assert answer == int(Fraction(usd) * 10**8)
        assert answered_in == round_id >= 1
        # Fresh even when the world came from the cache: the feeds are re-stamped at load, by the block that
        # recorded the round (not by how long ago the session began: the other tests' duration is no promise).
        (stamped,) = feed.events.AnswerUpdated.get_logs(from_block=0, argument_filters={"roundId": round_id})
        assert updated_at == w3.eth.get_block(stamped["blockNumber"])["timestamp"] >= node_started
        assert round_started == updated_at


def test_feed_keeps_history_and_can_go_stale(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    owner = w3.eth.accounts[0]
    feed = contract(eth_chain, contract_artifact("PriceFeed").abi, eth_chain.contracts["feed:ETH/USD"])
    first = feed.functions.latestRound().call()
    tx = feed.functions.updateAnswer(3100 * 10**8).transact({"from": owner})
    receipt = w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)
    events = feed.events.AnswerUpdated().process_receipt(receipt, errors=DISCARD)
    assert [(e["args"]["current"], e["args"]["roundId"]) for e in events] == [(3100 * 10**8, first + 1)]
    assert feed.functions.getRoundData(first).call()[1] == 3000 * 10**8
    assert feed.functions.latestAnswer().call() == 3100 * 10**8

    stale_time = 1_700_000_000
    sent = feed.functions.updateRoundData(first + 5, 2900 * 10**8, stale_time, stale_time).transact({"from": owner})
    w3.eth.wait_for_transaction_receipt(sent, poll_latency=0.01)  # anvil may answer before it has mined
    assert feed.functions.latestRoundData().call() == [first + 5, 2900 * 10**8, stale_time, stale_time, first + 5]
    assert feed.functions.latestTimestamp().call() == stale_time
    with pytest.raises(ContractLogicError):
        feed.functions.getRoundData(first + 3).call()
    with pytest.raises(ContractLogicError):
        feed.functions.updateAnswer(1).call({"from": w3.eth.accounts[1]})


def test_pools_are_registered(eth_chain: DevnetChain, bnb_chain: DevnetChain) -> None:
    def pairs(chain: DevnetChain, dex: str) -> set[tuple[frozenset[str], int]]:
        symbols = {address: symbol for symbol, address in chain.tokens.items()}
        result = set()
        for pool in chain.pools_of(dex):  # type: ignore[arg-type]
            assert int(pool.token0, 16) < int(pool.token1, 16)
            result.add((frozenset((symbols[pool.token0], symbols[pool.token1])), pool.fee))
        return result

    fs = frozenset
    assert pairs(eth_chain, "uniswap-v2") == {
        (fs({"WETH", "USDC"}), 3000),
        (fs({"WETH", "USDT"}), 3000),
        (fs({"WETH", "DAI"}), 3000),
        (fs({"WBTC", "WETH"}), 3000),
        (fs({"USDC", "USDT"}), 3000),
        (fs({"MKR", "WETH"}), 3000),
        (fs({"COMP", "WETH"}), 3000),
    }
    assert pairs(eth_chain, "uniswap-v3") == {
        (fs({"WETH", "USDC"}), 500),
        (fs({"WETH", "USDC"}), 3000),
        (fs({"WBTC", "WETH"}), 3000),
        (fs({"USDC", "USDT"}), 100),
        (fs({"DAI", "USDC"}), 100),
        *((fs({symbol, "WETH"}), 3000) for symbol in ("UNI", "AAVE", "LDO", "CRV", "EIGEN")),
    }
    assert pairs(bnb_chain, "uniswap-v3") == {
        (fs({"WBNB", "USDT"}), 500),
        (fs({"ETH", "WBNB"}), 3000),
        (fs({"BTCB", "WBNB"}), 3000),
        (fs({"USDT", "USDC"}), 100),
    }
    assert len(bnb_chain.pools_of("uniswap-v2")) == 5


def test_v2_pool_matches_the_feed_price_with_millions_of_depth(eth_chain: DevnetChain) -> None:
    pool = next(
        p
        for p in eth_chain.pools_of("uniswap-v2")
        if {p.token0, p.token1} == {eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]}
    )
    pair = contract(eth_chain, npm_artifact("UniswapV2Pair").abi, pool.address)
    reserve0, reserve1, _ = pair.functions.getReserves().call()
    weth, usdc = (reserve0, reserve1) if pool.token0 == eth_chain.tokens["WETH"] else (reserve1, reserve0)
    assert usdc == 6_000_000 * 10**6
    assert weth == 2000 * 10**18
    assert pair.functions.factory().call() == eth_chain.contracts["UniswapV2Factory"]


def test_v2_swap_through_the_real_router(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    user = w3.eth.accounts[4]
    router = contract(eth_chain, npm_artifact("UniswapV2Router02").abi, eth_chain.contracts["UniswapV2Router02"])
    usdc = contract(eth_chain, ERC20_ABI, eth_chain.tokens["USDC"])
    weth = contract(eth_chain, ERC20_ABI, eth_chain.tokens["WETH"])
    path = [usdc.address, weth.address]
    amount_in = 30_000 * 10**6
    expected = router.functions.getAmountsOut(amount_in, path).call()[1]
    # Uniswap V2's constant product with the 0.3 % fee, on the seeded reserves (6M USDC, 2000 WETH).
    fee_in = amount_in * 997
    assert expected == fee_in * 2000 * 10**18 // (6_000_000 * 10**6 * 1000 + fee_in)

    # anvil may answer eth_sendTransaction before it mines (seen in CI under load): the swap's gas estimate
    # must see the approval.
    approved = usdc.functions.approve(router.address, amount_in).transact({"from": user})
    w3.eth.wait_for_transaction_receipt(approved)
    before = weth.functions.balanceOf(user).call()
    tx = router.functions.swapExactTokensForTokens(amount_in, expected, path, user, DEADLINE).transact({"from": user})
    assert w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)["status"] == 1
    assert weth.functions.balanceOf(user).call() - before == expected
    assert usdc.functions.balanceOf(user).call() == 1_000_000 * 10**6 - amount_in


def test_v3_quoter_matches_a_real_swap_crossing_ticks(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    user = w3.eth.accounts[0]
    weth, usdc = eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]
    quoter = contract(eth_chain, npm_artifact("QuoterV2").abi, eth_chain.contracts["QuoterV2"])
    # 30 % of the 0.05 % pool's WETH side: leaves the narrow positions, crosses ticks.
    spec = next(p for p in ETHEREUM.v3_pools if p.fee == 500 and {p.token_a, p.token_b} == {"WETH", "USDC"})
    amount_in = ETHEREUM.token("WETH").amount_for_usd(spec.usd_per_side * 3 // 10)
    out, sqrt_after, ticks_crossed, _gas = quoter.functions.quoteExactInputSingle(
        (weth, usdc, amount_in, 500, 0)
    ).call()
    # Average price below the 3000 start (0.05 % fee plus price impact), but not absurdly so.
    assert 2_900 * 10**6 < out * 10**18 // amount_in < 2_999 * 10**6  # USDC per WETH
    assert ticks_crossed >= 2

    router = contract(eth_chain, npm_artifact("SwapRouter").abi, eth_chain.contracts["SwapRouter"])
    weth_token = contract(eth_chain, ERC20_ABI, weth)
    usdc_token = contract(eth_chain, ERC20_ABI, usdc)
    approved = weth_token.functions.approve(router.address, MAX_UINT256).transact({"from": user})
    w3.eth.wait_for_transaction_receipt(approved)
    before = usdc_token.functions.balanceOf(user).call()
    tx = router.functions.exactInputSingle((weth, usdc, 500, user, DEADLINE, amount_in, out, 0)).transact(
        {"from": user}
    )
    assert w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)["status"] == 1
    assert usdc_token.functions.balanceOf(user).call() - before == out
    pool = next(p for p in eth_chain.pools_of("uniswap-v3") if p.fee == 500)
    pool_contract = contract(eth_chain, npm_artifact("UniswapV3Pool").abi, pool.address)
    assert pool_contract.functions.slot0().call()[0] == sqrt_after


def test_v3_pool_starts_at_the_feed_price(eth_chain: DevnetChain) -> None:
    for pool in eth_chain.pools_of("uniswap-v3"):
        if {pool.token0, pool.token1} != {eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]}:
            continue
        sqrt_price = contract(eth_chain, npm_artifact("UniswapV3Pool").abi, pool.address).functions.slot0().call()[0]
        raw = Fraction(sqrt_price**2, 2**192)  # raw token1 per raw token0
        usdc_per_weth = raw * 10**12 if pool.token0 == eth_chain.tokens["WETH"] else 1 / raw * 10**12
        assert abs(usdc_per_weth - 3000) < Fraction(1, 10**6)


@pytest.mark.parametrize("chain_id", [1, 56])
def test_v3_pools_have_many_initialized_ticks(devnet: Any, chain_id: int) -> None:
    chain = devnet.chain(chain_id)
    lens = contract(chain, npm_artifact("TickLens").abi, chain.contracts["TickLens"])
    pool_abi = npm_artifact("UniswapV3Pool").abi
    narrow = [offsets for offsets, _ in V3_LAYOUT if offsets is not None]
    lowest, highest = min(lo for lo, _ in narrow), max(hi for _, hi in narrow)
    for pool in chain.pools_of("uniswap-v3"):
        v3 = contract(chain, pool_abi, pool.address)
        spacing = v3.functions.tickSpacing().call()
        base = v3.functions.slot0().call()[1] // spacing
        ticks = set()
        for word in range((base + lowest) >> 8, ((base + highest) >> 8) + 1):
            ticks |= {tick for tick, _, _ in lens.functions.getPopulatedTicksInWord(pool.address, word).call()}
        expected = {(base + offset) * spacing for pair in narrow for offset in pair}
        assert ticks == expected, pool
        assert len(ticks) == 12
        full = (MAX_TICK // spacing) * spacing
        assert v3.functions.ticks(-full).call()[0] > 0  # liquidityGross of the full-range position
        assert v3.functions.liquidity().call() > 0


def test_snapshot_isolation_first_test_spends(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    dai = contract(eth_chain, ERC20_ABI, eth_chain.tokens["DAI"])
    sent = dai.functions.transfer(w3.eth.accounts[0], 10**18).transact({"from": w3.eth.accounts[9]})
    w3.eth.wait_for_transaction_receipt(sent, poll_latency=0.01)  # anvil may answer before it mines
    assert dai.functions.balanceOf(w3.eth.accounts[9]).call() == (1_000_000 - 1) * 10**18


def test_snapshot_isolation_second_test_sees_the_original(eth_chain: DevnetChain) -> None:
    w3 = connect(eth_chain.rpc_url)
    dai = contract(eth_chain, ERC20_ABI, eth_chain.tokens["DAI"])
    assert dai.functions.balanceOf(w3.eth.accounts[9]).call() == 1_000_000 * 10**18


def test_raw_eth_call_through_multicall_on_bnb(bnb_chain: DevnetChain) -> None:
    w3 = connect(bnb_chain.rpc_url)
    data = selector("aggregate3((address,bool,bytes)[])") + encode(
        ["(address,bool,bytes)[]"], [[(MULTICALL3_ADDRESS, False, selector("getChainId()"))]]
    )
    raw = w3.eth.call({"to": MULTICALL3_ADDRESS, "data": data})
    ((result,),) = decode(["(bool,bytes)[]"], raw)
    assert result[0] is True
    assert decode(["uint256"], result[1]) == (56,)
