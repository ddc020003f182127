"""Our Curve stand-ins behave as mainnet's contracts do where our code depends on it: the AddressProvider and
the registry change only for the admin (Curve's Ownership Agent); the factories list exactly what they were given;
the native-ETH pool takes and pays ether (and refuses ether it was not owed), as Curve's ETH pools do."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3.exceptions import ContractLogicError

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.curve import CURVE_AGENT, NATIVE_ETH, ZERO_ADDRESS
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.spec import CURVE_POOLS
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.curve.math import StableSwap, get_dy
from tests.protocols.dex.test_curve_math import decimals_of, read_pool

ETHER = 10**18


def _reverts(send: Callable[[], object]) -> str:
    """The revert message of a transaction that must fail (web3 raises it while estimating gas)."""
    with pytest.raises((ContractLogicError, DevnetError)) as failure:
        send()
    return str(failure.value)


def test_address_provider_names_the_registry_and_only_its_admin_changes_it(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    provider = sender.contract(contract_artifact("CurveAddressProvider"), eth_chain.contracts["CurveAddressProvider"])
    registry = eth_chain.contracts["CurveRegistry"]
    assert provider.functions.get_address(0).call() == registry == provider.functions.get_registry().call()
    admin = provider.functions.admin().call()
    assert admin == eth_chain.contracts[CURVE_AGENT]  # Curve's Ownership Agent, as on mainnet
    set_pool = provider.functions.set_address(0, eth_chain.contracts["Curve3Pool"])
    assert "admin only" in _reverts(lambda: sender.send(set_pool))  # the deployer no longer
    assert "admin only" in _reverts(lambda: sender.send(set_pool, sender=sender.accounts[1]))
    with sender.impersonating(admin, gas_money=ETHER):
        assert "not a contract" in _reverts(
            lambda: sender.send(provider.functions.set_address(0, sender.accounts[1]), sender=admin)
        )
    assert provider.functions.get_address(0).call() == registry


def test_registry_and_factories_list_the_seeded_pools(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    listed: dict[str, list[str]] = {}
    for name in {spec.listed_by for spec in CURVE_POOLS}:
        artifact = "CurveMainRegistry" if name == "CurveRegistry" else name
        source = sender.contract(contract_artifact(artifact), eth_chain.contracts[name])
        count = source.functions.pool_count().call()
        listed[name] = [source.functions.pool_list(i).call() for i in range(count)]
    expected: dict[str, list[str]] = {}
    for spec in CURVE_POOLS:
        expected.setdefault(spec.listed_by, []).append(eth_chain.contracts[spec.registry_name])
    assert listed == expected
    registry = sender.contract(contract_artifact("CurveMainRegistry"), eth_chain.contracts["CurveRegistry"])
    steth = eth_chain.contracts["CurveEthStethPool"]
    assert registry.functions.get_coins(steth).call()[:3] == [NATIVE_ETH, eth_chain.tokens["stETH"], ZERO_ADDRESS]
    assert registry.functions.get_decimals(steth).call()[:3] == [18, 18, 0]
    add = registry.functions.add_pool(steth, 2, steth, b"\0" * 32, 0, 0, False, False, "x")
    assert "admin only" in _reverts(lambda: sender.send(add))
    agent = eth_chain.contracts[CURVE_AGENT]  # the AddressProvider's admin
    with sender.impersonating(agent, gas_money=ETHER):
        assert "pool exists" in _reverts(lambda: sender.send(add, sender=agent))
    factory = sender.contract(contract_artifact("CurveStableFactory"), eth_chain.contracts["CurveStableFactory"])
    meta = eth_chain.contracts["CurveUsdt3CrvPool"]
    assert factory.functions.is_meta(meta).call()
    assert factory.functions.get_base_pool(meta).call() == eth_chain.contracts["Curve3Pool"]
    assert not factory.functions.is_meta(eth_chain.contracts["CurveDaiUsdcPool"]).call()
    register = factory.functions.register_pool(meta, 2, ZERO_ADDRESS)
    assert "admin only" in _reverts(lambda: sender.send(register, sender=sender.accounts[1]))


def test_native_eth_pool_takes_and_pays_ether(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    spec = next(s for s in CURVE_POOLS if s.registry_name == "CurveEthStethPool")
    address = eth_chain.contracts[spec.registry_name]
    pool = sender.contract(contract_artifact("CurveStableSwap2ETH"), address)
    live = read_pool(eth_chain.rpc_url, address, decimals_of(spec))
    params: StableSwap = live.pool
    me = sender.accounts[2]
    dx = 10 * ETHER
    steth = sender.contract(contract_artifact("DevToken"), eth_chain.tokens["stETH"])  # ERC-20 calls only
    before = steth.functions.balanceOf(me).call()
    assert "wrong ether sent" in _reverts(lambda: sender.send(pool.functions.exchange(0, 1, dx, 0), sender=me))
    sender.send(pool.functions.exchange(0, 1, dx, 0), value=dx, sender=me)
    dy = get_dy(params, live.state, 0, 1, dx)
    assert 0 <= dy - (steth.functions.balanceOf(me).call() - before) <= 2  # stETH transfers round down by a wei
    assert pool.functions.balances(0).call() == live.state.balances[0] + dx
    # stETH in, ether out: the pool pays ether and asks for none.
    sender.send(steth.functions.approve(address, 2**256 - 1), sender=me)
    assert "wrong ether sent" in _reverts(
        lambda: sender.send(pool.functions.exchange(1, 0, ETHER, 0), value=1, sender=me)
    )
    ether = sender.w3.eth.get_balance(me)
    receipt = sender.send(pool.functions.exchange(1, 0, ETHER, 0), sender=me)
    paid = sender.w3.eth.get_balance(me) - ether + receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert paid == pool.functions.get_dy(1, 0, ETHER).call(block_identifier=receipt["blockNumber"] - 1) > 0


@pytest.mark.parametrize("artifact", ["CurveCryptoPool2", "CurveCryptoPool3"])
def test_crypto_pools_answer_their_reads_and_refuse_a_second_seed(eth_chain: DevnetChain, artifact: str) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    n = int(artifact[-1])
    spec = next(s for s in CURVE_POOLS if len(s.coins) == n and s.listed_by.endswith("cryptoNgFactory"))
    pool = sender.contract(contract_artifact(artifact), eth_chain.contracts[spec.registry_name])
    assert [pool.functions.coins(i).call() for i in range(n)] == [eth_chain.tokens[s] for s in spec.coins]
    assert pool.functions.get_virtual_price().call() == ETHER
    assert pool.functions.totalSupply().call() == sum(spec.usd_per_coin) * ETHER
    assert "seeded" in _reverts(lambda: sender.send(pool.functions.seed([1] * n, 1)))
