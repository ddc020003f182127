"""What the Aave V3 figure counts, how its contracts are found, and how it differs from DefiLlama's."""

from __future__ import annotations

from typing import Final

from defiscope.protocols.base import ProtocolInfo

AAVE_V3: Final = ProtocolInfo(
    slug="aave-v3",
    name="Aave V3",
    category="Lending",
    methodology=(
        "Every Aave V3 market of the chain (Ethereum: Core, Prime, EtherFi). Per reserve of each Pool "
        "(getReservesList): TVL = the underlying its aToken holds (getVirtualUnderlyingBalance on v3.1+ Pools, "
        "balanceOf(aToken) on v3.0), i.e. supplied minus borrowed; borrowed = variable debt totalSupply plus "
        "stable debt on Pools before v3.2 (none since)."
    ),
    url="https://aave.com",
    counts=(
        "tvl: per reserve, the liquidity still in the pool: Pool.getVirtualUnderlyingBalance(asset) where the "
        "Pool has it (v3.1+), else the underlying's balanceOf(aToken) (v3.0). borrowed: the variable debt "
        "token's totalSupply, plus, on Pools before v3.2 (which removed stable-rate debt), the stable debt "
        "token's (getTotalSupplyAndAvgRate on v3.0, totalSupply on v3.1); reserves listed since v3.2 have no "
        "stable-debt token at all. Amounts are "
        "raw integers, priced later by the engine; aTokens held elsewhere are receipts of aave-v3. A reserve "
        "whose own reads fail (its token's balanceOf reverts) is listed as not counted in both kinds, with the "
        "reason; the market's other reserves stand."
    ),
    discovery=(
        "Markets are registry data from @aave-dao/aave-address-book (Pool, PoolAddressesProvider, "
        "AaveProtocolDataProvider, AaveOracle per market; Ethereum Core, Prime and EtherFi; Arbitrum, "
        "Polygon, Avalanche, Base and Optimism). Reserves come from each Pool's getReservesList at the block "
        "read; their aToken and debt tokens from getReserveData (cached: they never change), the price "
        "source from AaveOracle.getSourceOfAsset. What a Pool's version answers is found once per market, by "
        "calls that may revert: getVirtualUnderlyingBalance (v3.1+ virtual accounting) and "
        "getEModeCategoryCollateralBitmap (v3.2+ e-modes). Accounts (risk) come from each Pool's Supply and "
        "Borrow events; on v3.2+ Pools every account's figures are checked against getUserAccountData."
    ),
    defillama_difference=(
        "DefiLlama (projects/aave-v3, helper/aave.js aaveV3Export) lists reserves through each market's "
        "AaveProtocolDataProvider (getAllReservesTokens, getReserveTokensAddresses) and counts tvl as the "
        "underlying's balanceOf(aToken) and borrowed as the data provider's totalVariableDebt + "
        "totalStableDebt. We read the Pool itself (the data provider is a view over it, and older data "
        "providers it hard-codes are replaced at upgrades), and on v3.1+ Pools we count the virtual balance: "
        "tokens donated to an aToken are not liquidity anyone can borrow or withdraw, so they are not TVL "
        "(on v3.0 Pools both methods read the same balanceOf). Borrowed is the same debt (the data "
        "provider's totals are the debt tokens' totalSupply). Markets are the same three on Ethereum."
    ),
)
