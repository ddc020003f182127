"""Curve on the Ethereum devnet, shaped like mainnet: an AddressProvider naming the main registry, the stable,
stable-ng, twocrypto-ng and tricrypto-ng factories, and the pools of :data:`CURVE_POOLS` listed by them.

Example::

    registry, pools = deploy_curve(sender, ETHEREUM, tokens)
    registry["CurveAddressProvider"]              # get_address(0) -> registry["CurveRegistry"]
    registry["Curve3Pool"]                        # DAI/USDC/USDT, its own LP token "3Crv"
    [p for p in pools if p.dex == "curve"]        # the pools routing can quote exactly

StableSwap pools are ``contracts/src/CurveStableSwap.vy`` compiled per coin count (and with native ether as
coin 0: ``CurveStableSwap2ETH``); crypto pools are the TVL-only ``CurveCryptoPool.vy``. The main registry
lists its pools through ``add_pool`` (the AddressProvider's admin, as on mainnet); the factories, which on
mainnet deploy their own pools, list ours through their devnet-only ``register_pool`` hook.

The AddressProvider's admin is Curve's Ownership Agent, as on mainnet (`curve_dao`): named in its constructor (the
real one takes ``_admin``; handing it over with ``commit_transfer_ownership`` would take three days of chain time,
which the devnet's clock, kept at the wall clock, does not have), the Agent then sets the registry and lists its
pools for the deployer (who holds its EXECUTE_ROLE until the DAO is handed to the Ownership Voting, last); the
stable-ng, twocrypto-ng and tricrypto-ng factories are the Agent's too, named in their constructors (`RUN_BY_AGENT`).
The old stable factory is the StableSwap Owner Proxy's, as on mainnet (`hand_stable_factory_to_owner_proxy`): its
ownership admin is the Ownership Agent, its parameter admin a Parameter Agent (`curve_dao.deploy_parameter_agent`),
its emergency admin the Ownership Agent. The main registry's StableSwap pools are owned by a PoolProxy replica
(`POOL_PROXY`, admins as the Owner Proxy's), as 3pool is on mainnet; a factory's StableSwap pools name their factory,
whose ``admin()`` alone may ramp their A (`_pool_admin`).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Final

from web3.contract import Contract

from defiscope.devnet.aragon import agent_execute, aragon_dao, calls_script, run_vote
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.curve_dao import deploy_curve_dao, deploy_parameter_agent, hand_curve_dao_to_voting
from defiscope.devnet.spec import CURVE_POOLS, PROTOCOL_TOKENS, ChainSpec, CurvePoolSpec
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetPool

CURVE_CHAIN_ID: Final = 1
#: Curve's fee unit (1e10) per hundredth of a basis point (the DevnetPool fee unit).
FEE_UNITS_PER_PIP: Final = 10_000
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
NATIVE_ETH: Final = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
BASE_LP: Final = "3Crv"  # a metapool's coin: the LP token of the base pool below
BASE_POOL: Final = "Curve3Pool"
MAIN_REGISTRY: Final = "CurveRegistry"
#: Curve's DAO in the registry (mainnet: Ownership Agent 0x4090…9968, Ownership Voting 0xE478…3356).
CURVE_AGENT: Final = "CurveOwnershipAgent"
CURVE_VOTING: Final = "CurveOwnershipVoting"
FACTORIES: Final = ("CurveStableFactory", "CurveStableNgFactory", "CurveTwocryptoNgFactory", "CurveTricryptoNgFactory")
#: Sources whose admin is the Ownership Agent, as on mainnet:
#: - the main registry, through the AddressProvider (docs/risk.md);
#: - stable-ng (0x6A8c…21bf): its admin() read live as the Agent (a public test recording live reads, 2026-09-20);
#: - twocrypto-ng (0x98EE…AF7F): Curve's deployment settings name the Agent as its ethereum:mainnet owner
#:   (curvefi/twocrypto-ng scripts/deployment_utils.py, ``dao_ownership_contract``); "the Factory is controlled by
#:   the CurveDAO" (docs.curve.finance/developer/amm/factory/twocrypto-ng/overview);
#: - tricrypto-ng (0x0c0e…4963): deployed by an EOA that commit_transfer_ownership's it to the Agent, accepted by a
#:   DAO vote (curvefi/tricrypto-ng scripts/deploy.py; scripts/ape/deploy.py acts as the Agent on a mainnet fork).
#: The old stable factory (0xB9fC…90d4) is not here: its admin is Curve's StableSwap Owner Proxy (`OWNER_PROXY`).
RUN_BY_AGENT: Final = frozenset(
    {MAIN_REGISTRY, "CurveStableNgFactory", "CurveTwocryptoNgFactory", "CurveTricryptoNgFactory"}
)
CRYPTO_FACTORIES: Final = frozenset({"CurveTwocryptoNgFactory", "CurveTricryptoNgFactory"})
#: Curve's StableSwap Owner Proxy (contracts/src/CurveStableSwapOwnerProxy.vy), the old stable factory's admin as
#: mainnet's 0x742C…9571 is 0xB9fC…90d4's ("gauge_factory_admin_ng" in Lido's Curve DAO vote script, which calls its
#: add_reward through the Ownership Agent; docs.curve.finance "StableSwapOwnerProxy": it owns the MetapoolFactory and
#: its pools). Its ownership admin is the Ownership Agent (that vote script's add_reward needs it, or the gauge's
#: manager). Its parameter and emergency admins at 0x742C were not sourced: Curve's docs give, for its PoolProxy,
#: the Parameter Agent 0x4EEb…c5f as parameter_admin and the Ownership Agent as emergency_admin (the Emergency DAO
#: 0x4679…1E0c as the committed future one); here the Parameter Agent and the Ownership Agent.
OWNER_PROXY: Final = "CurveStableSwapOwnerProxy"
#: Curve's PoolProxy (contracts/src/CurvePoolProxy.vy; mainnet 0xeCb456EA5365865EbAb8a2661B0c503410e9B347), the owner
#: of the main registry's pools (3pool's owner() on mainnet). The devnet deploys those pools with it as their owner
#: (3pool's constructor takes ``_owner``): handing them over by commit/apply_transfer_ownership would need three days
#: of chain time, which the devnet's clock, kept at the wall clock, does not have.
POOL_PROXY: Final = "CurvePoolProxy"
CURVE_PARAMETER_AGENT: Final = "CurveParameterAgent"
#: Sources whose pools routing leaves out on mainnet (crypto invariants; stable-ng's off-peg fee): as there.
UNROUTED: Final = CRYPTO_FACTORIES | {"CurveStableNgFactory"}
#: Tokens the deployer holds that no DevToken spec prices (Lido's): the feed giving their seeding price.
PROTOCOL_TOKEN_FEEDS: Final = {"stETH": "STETH/USD"}
#: gamma of twocrypto-ng / tricrypto-ng pools (what the stand-in's gamma() answers).
CRYPTO_GAMMA: Final = 145_000_000_000_000


def curve_rate(decimals: int) -> int:
    """The pool's rate multiplier for a coin: scales its balance to 18 decimals, times 1e18."""
    return int(10 ** (36 - decimals))


def coin_decimals(spec: ChainSpec, symbol: str) -> int:
    if symbol in ("ETH", BASE_LP):
        return 18
    protocol = PROTOCOL_TOKENS.get(spec.chain_id, {})
    return protocol[symbol] if symbol in protocol else spec.token(symbol).decimals


def coin_amount(spec: ChainSpec, symbol: str, usd: int) -> int:
    """The amount of a coin worth ``usd`` at the devnet's prices (3Crv at its first-deposit $1 per LP)."""
    if symbol == "ETH":
        return spec.token("WETH").amount_for_usd(usd)
    if symbol == BASE_LP:
        return usd * 10**18
    if symbol in PROTOCOL_TOKEN_FEEDS:
        return int(Fraction(usd) / spec.feed(PROTOCOL_TOKEN_FEEDS[symbol]).price * 10**18)
    return spec.token(symbol).amount_for_usd(usd)


def is_routable(pool: CurvePoolSpec) -> bool:
    """Fixed-fee StableSwap pools of ERC-20 coins only: routing quotes them with our exact math, as on mainnet
    (see `protocols.curve.adapter.route_exclusion`)."""
    return pool.listed_by not in UNROUTED and "ETH" not in pool.coins and BASE_LP not in pool.coins


def deploy_curve(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract]
) -> tuple[dict[str, str], list[DevnetPool]]:
    """Deploy the listing contracts and every pool of :data:`CURVE_POOLS` on Ethereum; other chains get nothing."""
    if spec.chain_id != CURVE_CHAIN_ID:
        return {}, []
    dao_app = deploy_curve_dao(sender)
    agent = dao_app.proxy
    provider = sender.deploy(contract_artifact("CurveAddressProvider"), agent.address)
    registry = sender.deploy(contract_artifact("CurveMainRegistry"), provider.address)
    agent_execute(sender, agent, provider.address, provider.encode_abi("set_address", args=[0, registry.address]))
    sources = {MAIN_REGISTRY: registry}
    admins = {name: agent.address if name in RUN_BY_AGENT else sender.owner for name in FACTORIES}
    sources |= {name: sender.deploy(contract_artifact(name), admins[name]) for name in FACTORIES}
    names: dict[str, str] = {"CurveAddressProvider": provider.address}
    names |= {name: c.address for name, c in sources.items()}

    parameter_agent = deploy_parameter_agent(sender, dao_app)
    # PoolProxy's admins as Curve's docs name them: ownership and emergency the Ownership Agent, parameter the
    # Parameter Agent (see OWNER_PROXY's note).
    pool_proxy = sender.deploy(contract_artifact(POOL_PROXY), agent.address, parameter_agent.address, agent.address)
    coins = dict(tokens)
    pools: list[DevnetPool] = []
    for pool_spec in CURVE_POOLS:
        pool = deploy_curve_pool(sender, spec, coins, pool_spec, _pool_admin(pool_spec, pool_proxy, sources))
        if pool_spec.registry_name == BASE_POOL:
            coins[BASE_LP] = pool
        _list(sender, spec, (sources[pool_spec.listed_by], agent), pool, pool_spec, coins)
        names[pool_spec.registry_name] = pool.address
        if is_routable(pool_spec):
            # A DevnetPool names two tokens: the first two coins; the adapter reads all of them from the pool.
            first, second = (coins[s].address for s in pool_spec.coins[:2])
            pools.append(DevnetPool("curve", pool.address, first, second, pool_spec.fee // FEE_UNITS_PER_PIP))
    proxy = hand_stable_factory_to_owner_proxy(sender, sources["CurveStableFactory"], agent.address, parameter_agent)
    dao = hand_curve_dao_to_voting(sender, dao_app, parameter_agent.address)
    names |= {CURVE_AGENT: agent.address, CURVE_VOTING: dao.voting.address, "CurveDaoKernel": dao_app.kernel.address}
    names |= {OWNER_PROXY: proxy.address, CURVE_PARAMETER_AGENT: parameter_agent.address}
    names[POOL_PROXY] = pool_proxy.address
    return names, pools


def _pool_admin(pool: CurvePoolSpec, pool_proxy: Contract, sources: Mapping[str, Contract]) -> tuple[str, str]:
    """(owner, factory) for a StableSwap pool's constructor: a registry pool is owned by the PoolProxy from its
    deployment; a factory pool names its factory, whose admin() may ramp its A (crypto pools take neither)."""
    if pool.listed_by == MAIN_REGISTRY:
        return pool_proxy.address, ZERO_ADDRESS
    return ZERO_ADDRESS, sources[pool.listed_by].address


def hand_stable_factory_to_owner_proxy(
    sender: Sender, factory: Contract, ownership_agent: str, parameter_agent: Contract
) -> Contract:
    """Deploy the StableSwap Owner Proxy and make it the factory's admin, as Curve hands a factory to one
    (curvefi/curve-factory's deploy script): the deployer, the factory's admin, commits the proxy; the proxy's
    accept_transfer_ownership (anyone's) accepts. Last, after the deployer listed the factory's pools."""
    args = (ownership_agent, parameter_agent.address, ownership_agent, factory.address, ZERO_ADDRESS)
    proxy = sender.deploy(contract_artifact(OWNER_PROXY), *args)
    sender.send(factory.functions.commit_transfer_ownership(proxy.address))
    sender.send(proxy.functions.accept_transfer_ownership(factory.address))
    return proxy


def _list(
    sender: Sender,
    spec: ChainSpec,
    lister: tuple[Contract, Contract],
    pool: Contract,
    pool_spec: CurvePoolSpec,
    coins: Mapping[str, Contract],
) -> None:
    """List ``pool`` with its source (``lister``: the source, and the Agent), sent by the source's admin: the Agent
    for those it runs (`RUN_BY_AGENT`), else the deployer."""
    n = len(pool_spec.coins)
    source, agent = lister
    if pool_spec.listed_by == MAIN_REGISTRY:
        # add_pool's decimals are packed one byte per coin, coin 0 in the lowest byte.
        packed = sum(coin_decimals(spec, s) << (8 * i) for i, s in enumerate(pool_spec.coins))
        name = f"Curve.fi {'/'.join(pool_spec.coins)}"
        function, args = "add_pool", [pool.address, n, pool.address, b"\0" * 32, packed, packed, False, False, name]
    else:
        base = coins[BASE_LP].address if BASE_LP in pool_spec.coins else ZERO_ADDRESS  # a metapool names its base
        function, args = "register_pool", [pool.address, n, base]
    if pool_spec.listed_by in RUN_BY_AGENT:
        agent_execute(sender, agent, source.address, source.encode_abi(function, args=args))
    else:
        sender.send(source.functions[function](*args))


def deploy_curve_pool(
    sender: Sender,
    spec: ChainSpec,
    tokens: Mapping[str, Contract],
    pool: CurvePoolSpec,
    admin: tuple[str, str] | None = None,
) -> Contract:
    """Deploy one pool and seed it from account 0 (``tokens`` holds every ERC-20 coin, 3Crv as the 3pool);
    ``admin`` is a StableSwap pool's (owner, factory), one of them the zero address (`_pool_admin`); by default
    the deployer owns it."""
    addresses = [NATIVE_ETH if s == "ETH" else tokens[s].address for s in pool.coins]
    amounts = [coin_amount(spec, s, usd) for s, usd in zip(pool.coins, pool.usd_per_coin, strict=True)]
    name = f"Curve.fi {'/'.join(pool.coins)}"
    if pool.listed_by in CRYPTO_FACTORIES:
        artifact = contract_artifact(f"CurveCryptoPool{len(pool.coins)}")
        contract = sender.deploy(artifact, addresses, pool.amplification, CRYPTO_GAMMA, pool.fee, name, pool.lp_symbol)
    else:
        variant = "ETH" if "ETH" in pool.coins else ""
        rates = [curve_rate(coin_decimals(spec, s)) for s in pool.coins]
        owner, factory = admin or (sender.owner, ZERO_ADDRESS)
        args = (addresses, rates, pool.amplification, pool.fee, pool.admin_fee, name, pool.lp_symbol, owner, factory)
        contract = sender.deploy(contract_artifact(f"CurveStableSwap{len(pool.coins)}{variant}"), *args)
    for symbol in pool.coins:
        if symbol != "ETH":
            sender.send(tokens[symbol].functions.approve(contract.address, MAX_UINT256))
    value = sum(a for s, a in zip(pool.coins, amounts, strict=True) if s == "ETH")
    if pool.listed_by in CRYPTO_FACTORIES:
        # LP tokens worth $1 each at seeding (the stand-in's virtual price starts at 1e18).
        sender.send(contract.functions.seed(amounts, sum(pool.usd_per_coin) * 10**18))
    else:
        sender.send(contract.functions.add_liquidity(amounts, 0), value=value)
    return contract


def vote_pool_proxy_admins(
    sender: Sender, contracts: Mapping[str, str], ownership: str, parameter: str, emergency: str
) -> None:
    """A passed Ownership vote making the Ownership Agent commit then apply the PoolProxy's three admins (both its
    ownership admin's calls, no delay between them, as on mainnet), while the Agent is that ownership admin."""
    proxy = sender.contract(contract_artifact(POOL_PROXY), contracts[POOL_PROXY])
    agent = sender.contract(contract_artifact("AragonAgent"), contracts[CURVE_AGENT])
    calls = (
        proxy.encode_abi("commit_set_admins", args=[ownership, parameter, emergency]),
        proxy.encode_abi("apply_set_admins"),
    )
    executes = (agent.encode_abi("execute", args=[proxy.address, 0, bytes.fromhex(data[2:])]) for data in calls)
    script = calls_script(*((agent.address, bytes.fromhex(data[2:])) for data in executes))
    run_vote(sender, aragon_dao(sender, agent.address), script, "set the PoolProxy's admins")
