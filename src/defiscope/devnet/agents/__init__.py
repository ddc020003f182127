"""The market simulation's protocol agents, and the default set for a devnet chain.

Example::

    agents = default_agents(devnet.chain(1))   # users of each protocol, then liquidators
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=agents))

An agent is a callable ``(simulation, rng) -> None`` run once per tick; a protocol's agents join the
default set only when the chain's registry holds that protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from defiscope.devnet.agents.aave_governance import AaveGovernanceAgents
from defiscope.devnet.agents.aave_governance_v3 import AaveGovernanceV3Agents
from defiscope.devnet.agents.control import ControlAgents
from defiscope.devnet.agents.governance import GovernanceAgents
from defiscope.devnet.agents.lending import AaveUsers, CometUsers, CompoundV2Users, LendingProfile
from defiscope.devnet.agents.liquidator import AaveLiquidator, CometLiquidator, CompoundV2Liquidator, MakerKeeper
from defiscope.devnet.agents.maker import MakerVaults
from defiscope.devnet.agents.maker_governance import WARPED_SPELL_LIFETIME, MakerGovernanceAgents
from defiscope.devnet.agents.staking import EigenRestakers, LidoStakers
from defiscope.devnet.world import DevnetChain

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Agent

__all__ = [
    "AaveGovernanceAgents",
    "AaveGovernanceV3Agents",
    "AaveLiquidator",
    "AaveUsers",
    "CometLiquidator",
    "CometUsers",
    "CompoundV2Liquidator",
    "CompoundV2Users",
    "ControlAgents",
    "EigenRestakers",
    "GovernanceAgents",
    "LendingProfile",
    "LidoStakers",
    "MakerGovernanceAgents",
    "MakerKeeper",
    "MakerVaults",
    "default_agents",
]


def default_agents(chain: DevnetChain, *, warped: bool = False) -> tuple[Agent, ...]:
    """Fresh agents (they keep per-run state) for the protocols ``chain`` has: governance, users, then liquidators.

    ``warped``: for a clock that jumps hours per tick (`devnet.fast_forward`), deadlines set in seconds are set
    as on mainnet (a Maker spell lives 30 days), not to a few of `serve`'s ticks (every spell would expire
    before the tick that schedules it)."""
    has = chain.contracts.__contains__
    agents: list[Agent] = []
    # First: `serve` promises a governance proposal within its first blocks.
    if has("CompoundGovernor") or has("UniswapGovernor"):
        agents.append(GovernanceAgents())
    if has("AaveGovernanceCore"):
        agents.append(AaveGovernanceV3Agents())
    if has("AaveGovernor"):
        agents.append(AaveGovernanceAgents())
    if has("EigenLayerTimelock"):
        agents.append(ControlAgents())
    if has("MakerChief"):
        agents.append(MakerGovernanceAgents(lifetime=WARPED_SPELL_LIFETIME) if warped else MakerGovernanceAgents())
    if has("AaveV3Pool"):
        agents.append(AaveUsers())
    if has("CompoundV2Comptroller"):
        agents.append(CompoundV2Users())
    if has("CompoundV3Comet:USDC"):
        agents.append(CometUsers())
    if has("MakerVat"):
        agents.append(MakerVaults())
    if has("LidoStETH"):
        agents.append(LidoStakers())
    if has("EigenLayerStrategyManager"):
        agents.append(EigenRestakers())
    if has("AaveV3Pool"):
        agents.append(AaveLiquidator())
    if has("CompoundV2Comptroller"):
        agents.append(CompoundV2Liquidator())
    if has("CompoundV3Comet:USDC"):
        agents.append(CometLiquidator())
    if has("MakerDog"):
        agents.append(MakerKeeper())
    return tuple(agents)
