"""The devnet's market run through simulated days: a clock warped one fixed step per tick, seeded per chain.

    plan = FastForwardPlan.of(days=30, tick=parse_duration("1h", "--tick"), sample=parse_duration("6h", "x"))
    plan.ticks, plan.ticks_per_sample          # 720 ticks, a sample every 6 of them (the defaults: a day and a day)
    market = WarpedMarket.open(devnet.chain(1), seed=7, tick_seconds=plan.tick_seconds)
    start = first_tick_time(market.head_timestamp())   # the next UTC midnight after the head
    market.start()
    report = market.tick_at(start)             # the tick's first block is stamped `start`
    market.tick_at(start + plan.tick_seconds)  # ... one step later, whatever the tick mined meanwhile

Each tick's first block is stamped at its slot of the simulated clock (`evm_setNextBlockTimestamp`); the tick's
other blocks follow one `seconds_per_block` apart, as on `serve`. The random walk's step is scaled to the
tick's simulated time (`SimulationConfig.seconds_per_tick`), so a day of hourly ticks moves prices as a day
does. Time-driven protocol state (interest, staking rewards, governance delays) follows the warped clock; the
agents' own deadlines are set for it (`default_agents(warped=True)`: a Maker spell lives 30 days, not minutes).

A run starts at the next UTC midnight after the chain's head: two runs started the same day from the same world
stamp the same times, and a run that ends where the last one stopped continues without a hole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import structlog

from defiscope.devnet.agents import default_agents
from defiscope.devnet.simulation import Simulation, SimulationConfig, TickReport
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.errors import InputError

log = structlog.get_logger(__name__)

DAY: Final = 86_400
_UNITS: Final = {"s": 1, "m": 60, "h": 3_600, "d": DAY}
#: Bounds of a tick's simulated time: below a minute a tick's own blocks (1 s apart) would overrun it.
MIN_TICK_SECONDS: Final = 60
MAX_TICK_SECONDS: Final = DAY
#: At most ten simulated years in one run.
MAX_DAYS: Final = 3_650
#: The defaults hold the pace the command promises (30 days <= 5 min, a year <= 1 h) on this 2-core machine shared
#: with other work (load average 10-12): `devnet simulate --days 30` took 131 s with daily ticks, 413 s with 12-hour
#: ticks (chain 1's tick costs 2-6 s, whatever time it stands for). `--tick 12h` or finer on a quiet machine.
DEFAULT_TICK: Final = "1d"
DEFAULT_SAMPLE: Final = "1d"


class BadFastForward(InputError):
    """A fast-forward that cannot be run as asked (a malformed duration, a sample not a whole number of ticks)."""


def parse_duration(text: str, field: str) -> int:
    """Seconds of "90s", "30m", "6h", "1d" or a bare number of seconds.

    >>> parse_duration("6h", "--sample-every"), parse_duration("1d", "--tick"), parse_duration("90", "--tick")
    (21600, 86400, 90)
    """
    raw = text.strip().lower()
    unit = _UNITS.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    if not number.isdigit() or int(number) == 0:
        raise BadFastForward(f"{field} {text!r}: expected a positive duration such as 90s, 30m, 6h or 1d", field=field)
    return int(number) * unit


@dataclass(frozen=True, slots=True)
class FastForwardPlan:
    """How many ticks of how much simulated time, and every how many ticks the chains are indexed."""

    days: int
    tick_seconds: int
    sample_seconds: int

    @classmethod
    def of(cls, *, days: int, tick: int, sample: int) -> FastForwardPlan:
        if not 1 <= days <= MAX_DAYS:
            raise BadFastForward(f"--days must be 1 to {MAX_DAYS}, got {days}", field="--days")
        if not MIN_TICK_SECONDS <= tick <= MAX_TICK_SECONDS:
            raise BadFastForward(
                f"--tick must be {MIN_TICK_SECONDS} s to 1 d of simulated time, got {tick} s", field="--tick"
            )
        if DAY % tick:
            raise BadFastForward(f"--tick ({tick} s) must divide a day", field="--tick")
        if sample % tick or sample > DAY * days:
            raise BadFastForward(
                f"--sample-every ({sample} s) must be a whole number of ticks ({tick} s each) within the run",
                field="--sample-every",
            )
        return cls(days, tick, sample)

    @property
    def ticks(self) -> int:
        return self.days * DAY // self.tick_seconds

    @property
    def ticks_per_sample(self) -> int:
        return self.sample_seconds // self.tick_seconds

    def samples_after(self, tick: int) -> bool:
        """Whether the chains are indexed after tick number `tick` (1-based): at each sample and after the last."""
        return tick % self.ticks_per_sample == 0 or tick == self.ticks

    def tick_time(self, start: int, tick: int) -> int:
        """The simulated time of tick number `tick` (1-based) of a run starting at `start`."""
        return start + (tick - 1) * self.tick_seconds


def first_tick_time(head_timestamp: int) -> int:
    """The next UTC midnight strictly after the head: where a run's first tick is stamped.

    >>> first_tick_time(86_399), first_tick_time(86_400), first_tick_time(86_401)
    (86400, 172800, 172800)
    """
    return (head_timestamp // DAY + 1) * DAY


def simulation_seed(seed: int, chain_id: int, start_block: int) -> int:
    """The seed of one chain's simulation: a resumed run (a later start block) is as reproducible as the first,
    and does not replay the first run's random draws."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{chain_id}:{start_block}".encode()).digest()[:8], "big")


class WarpedMarket:
    """One chain's seeded `Simulation` whose ticks are stamped on a simulated clock."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation
        self.chain_id = simulation.chain.chain_id

    @classmethod
    def open(cls, chain: DevnetChain, *, seed: int, tick_seconds: int | None = None) -> WarpedMarket:
        """The chain's market seeded by `seed`, the chain and its current block (`simulation_seed`)."""
        start_block = Sender.connect(chain.rpc_url).w3.eth.block_number
        chain_seed = simulation_seed(seed, chain.chain_id, start_block)
        log.info("simulation.seeded", chain_id=chain.chain_id, seed=seed, start_block=start_block)
        agents = default_agents(chain, warped=tick_seconds is not None)
        config = SimulationConfig(seed=chain_seed, seconds_per_tick=tick_seconds, agents=agents)
        return cls(Simulation(chain, config))

    def head_timestamp(self) -> int:
        return int(self.simulation.sender.w3.eth.get_block("latest")["timestamp"])

    def start(self) -> None:
        self.simulation.start()

    def stop(self) -> None:
        self.simulation.stop()

    def tick_at(self, timestamp: int) -> TickReport:
        """One tick whose first block is stamped `timestamp` (or one second after the head, if that is later: a
        tick that mined more blocks than its step has seconds pushes the next one, never back in time)."""
        stamp = max(timestamp, self.head_timestamp() + 1)
        self.simulation.sender.rpc("evm_setNextBlockTimestamp", [stamp])
        return self.simulation.tick()
