"""What the Curve figure counts, how its pools are found, and how it differs from DefiLlama's Curve adapter."""

from __future__ import annotations

from typing import Final

from defiscope.protocols.base import ProtocolInfo

CURVE: Final = ProtocolInfo(
    slug="curve",
    name="Curve",
    category="Dexes",
    methodology=(
        "The coins every Curve pool holds for its LPs (get_balances of its registry or factory, admin fees "
        "excluded), over the main and crypto registries and the stable, stable-ng, crypto, twocrypto-ng and "
        "tricrypto-ng factories; native ETH valued as ETH; LP tokens of Curve pools held by Curve pools counted once."
    ),
    url="https://curve.fi",
    counts=(
        "TVL: for each pool, each coin's balance as the pool's registry or factory reports it "
        "(get_balances: the LPs' share; admin fees not yet claimed are left out). The coin 0xEeee...EEeE is "
        "native ETH: its balance is the pool's ETH accounting and is valued as WETH. A coin that is the LP token "
        "of another Curve pool of the same snapshot (3CRV in a 3pool metapool) is a claim on coins that pool "
        "already counts: it is left out of Curve's positions (the adapter lists it per pool in `nested`), so "
        "Curve's own TVL holds each underlying once; Curve LP tokens held by other protocols are marked as "
        "receipts of Curve. A pool whose balances cannot be read (a reverting get_balances or balances(i)) is "
        "listed as not counted, one entry per coin with the reason, and the other pools stand; a named pool "
        "whose coins cannot be read is listed once (coins unknown) and retried at each read. "
        "Yields: each pool's LP fee APR from the growth of get_virtual_price() over a day."
    ),
    discovery=(
        "The AddressProvider (0x0000000022D53366457F9d5E68Ec105046FC4383) names the main registry "
        "(get_address(0)); the crypto registry and the stable (metapool), stable-ng, crypto, twocrypto-ng and "
        "tricrypto-ng factories are listed by address in the deployment registry (the AddressProvider's other "
        "ids differ between its versions). Each is read with pool_count() and pool_list(i) at "
        "every snapshot; a pool listed by two (the main registry lists some factory pools) is read once, from "
        "the first. Coins (get_coins) and LP tokens (get_lp_token / get_token where the LP token is a separate "
        "contract, else the pool itself) are read once per pool and cached. Contracts registered as "
        "Curve<Name>Pool that no registry lists are read directly (coins(i), balances(i))."
    ),
    defillama_difference=(
        "DefiLlama sums ERC-20 balanceOf(pool) of every coin (admin fees included) and the pool's ETH balance; "
        "we take get_balances (the LPs' share, admin fees excluded), which is what LPs can withdraw. DefiLlama "
        "also scans two more plain-pool factories' PlainPoolDeployed logs; we read the two registries and the "
        "five factories (their pool_list), no logs. DefiLlama drops every token named 'Curve.fi ...' and a fixed "
        "list of metapool bases and pools (oETH, DOLA-3CRV); we leave out exactly the LP tokens of Curve pools "
        "read in the same snapshot and keep every pool. DefiLlama counts veCRV-locked CRV as staking; we do not "
        "(no staking figure). A pool DefiLlama's multicall cannot read fails its whole run (permitFailure is off); "
        "ours is listed as not counted."
    ),
)
