"""Alert rules as the API, the CLI and the evaluator see them: one Pydantic model of `params` per kind.

    >>> spec = parse_rule({"kind": "price_move", "params": {"chain": "ethereum", "token": "WETH",
    ...                    "window_blocks": 10, "threshold_pct": 0.5}})
    >>> spec.kind, spec.params.chain_id, spec.params.threshold_pct, spec.confirmations
    ('price_move', 1, Decimal('0.5'), 0)
    >>> parse_rule({"kind": "tvl_change", "params": {"chain": "ethereum", "protocol": "aave-v3",
    ...             "window_blocks": 0}})
    Traceback (most recent call last):
    defiscope.alerts.rules.InvalidRule: tvl_change.params.window_blocks: Input should be greater than or equal to 1

Thresholds are decimals (exact, parsed from the JSON number's text); percentages are percent (0.5 = 0.5 %).
`confirmations` is 0 (= "latest": evaluate each block as it is indexed), N (evaluate block B - N once B is indexed)
or "finalized" (B minus the chain's finality depth). `cooldown_blocks`: after a firing, the same rule does not fire
again (for the same subject) until that many blocks later; resolving is never delayed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from defiscope.alerts.message import Channel
from defiscope.analytics.grades.catalog import CLOCK_CHAIN, GRADED
from defiscope.chain.errors import InvalidInput
from defiscope.chain.registry import get_chain
from defiscope.errors import InputError

KINDS: Final = (
    "price_move",
    "tvl_change",
    "yield",
    "liquidation_exposure",
    "new_protocol",
    "governance",
    "grade_signal",
    "indexer_health",
)
FINALIZED: Final = "finalized"
#: Bounds that keep one rule's work per block small (a window is at most about a week of Ethereum blocks).
MAX_WINDOW: Final = 50_000
MAX_BLOCKS: Final = 10_000_000

Percent = Annotated[Decimal, Field(gt=0, le=100_000, allow_inf_nan=False, description="percent: 0.5 = 0.5 %")]
Usd = Annotated[Decimal, Field(ge=0, le=10**15, allow_inf_nan=False, description="US dollars")]
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW, description="compare with the stored block this many blocks back")]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:+-]+$")]
#: A token by symbol (any characters a symbol may hold: "USD₮0", "UNI-V2", "Curve.fi DAI/USDC/USDT") or address.
Symbol = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Direction = Literal["up", "down", "any"]


class InvalidRule(InputError):
    """A rule body that does not validate; the message starts with the field at fault."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chain: str = Field(min_length=1, max_length=40, description="chain slug, alias or id (ethereum, bsc, 1)")

    @field_validator("chain")
    @classmethod
    def _known_chain(cls, value: str) -> str:
        try:
            _chain_id(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def chain_id(self) -> int:
        return _chain_id(self.chain)


def _chain_id(chain: str) -> int:
    """The id of a chain given by slug, alias or id (`InvalidInput` when unknown)."""
    return get_chain(int(chain) if chain.isascii() and chain.isdigit() else chain).chain_id


class PriceMoveParams(_Params):
    """A token's price moved by `threshold_pct` % or more over `window_blocks` (prices the snapshots valued at)."""

    token: Symbol = Field(description="symbol (WETH) or address of the token")
    window_blocks: Window
    threshold_pct: Percent
    direction: Direction = "any"


class TvlChangeParams(_Params):
    """A protocol's TVL on the chain changed by `threshold_pct` % or `threshold_usd` or more over the window."""

    protocol: Name
    window_blocks: Window
    threshold_pct: Percent | None = None
    threshold_usd: Usd | None = None
    direction: Direction = "any"

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.threshold_pct is None and self.threshold_usd is None:
            raise ValueError("give threshold_pct or threshold_usd (or both)")
        return self


class YieldParams(_Params):
    """A market's APY (in %) above `above`, below `below`, or moving by `move_pct` percentage points or more over
    `window_blocks`; any of the three may be set, at least one."""

    protocol: Name
    asset: Symbol = Field(description="symbol (USDC) or address of the asset")
    side: Literal["supply", "borrow", "staking", "lp_fee", "any"] = "any"
    above: Annotated[Decimal, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    below: Annotated[Decimal, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    move_pct: Percent | None = None
    window_blocks: Window = 1

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.above is None and self.below is None and self.move_pct is None:
            raise ValueError("give above, below or move_pct")
        return self


class LiquidationExposureParams(_Params):
    """The debt (USD) that would become liquidatable in `protocol` if `asset` fell by `drop_pct` %, above
    `threshold_usd` (the risk engine's `scenario`, positions read at the block)."""

    protocol: Literal["aave-v3", "compound-v2", "compound-v3", "maker"]
    asset: Symbol
    drop_pct: Annotated[Decimal, Field(gt=0, le=100, allow_inf_nan=False)]
    threshold_usd: Usd


class NewProtocolParams(_Params):
    """A protocol first stored within the last `within_days` days whose TVL is `min_tvl_usd` or more; with
    `scope: pool`, a DEX pool created within the window (its factory's creation event) whose holdings at the block,
    valued at the prices stored with the block's snapshots, are worth `min_tvl_usd` or more."""

    scope: Literal["protocol", "pool"] = Field(
        default="protocol", description="protocol: new protocols; pool: new pools"
    )
    min_tvl_usd: Usd
    within_days: Annotated[
        Decimal, Field(gt=0, le=3650, allow_inf_nan=False, description="days (fractions allowed)")
    ] = Decimal(7)


GovernanceEvent = Literal["created", "queued", "executed"]
GovernanceFlag = Literal["upgrade", "admin-change", "oracle-change", "parameter-change", "treasury-transfer", "unknown"]


class GovernanceParams(_Params):
    """A governance proposal of `protocol` (any when omitted) reached one of `events`; with `flags`, only proposals
    with at least one action flagged so."""

    protocol: Name | None = None
    events: tuple[GovernanceEvent, ...] = Field(default=("created", "queued", "executed"), min_length=1)
    flags: tuple[GovernanceFlag, ...] = ()


SignalHorizon = Literal["trader", "investor", "any"]
SignalDirection = Literal["bullish", "bearish", "neutral", "any"]
ANY: Final = "any"


class GradeSignalParams(_Params):
    """A grade signal of `protocol` (a graded protocol, or any) on the `horizon` grade turned `direction` (any: every
    transition); the alert on a protocol, horizon and state resolves when a later signal leaves that state. Grades
    are published on chain 1 only."""

    chain: str = Field(default="ethereum", min_length=1, max_length=40, description="grades are published on chain 1")
    protocol: str = Field(
        default=ANY,
        description="a graded protocol, or any",
        json_schema_extra={"enum": [ANY, *GRADED]},  # the choices, for clients and the dashboard's form
    )
    horizon: SignalHorizon = ANY
    direction: SignalDirection = ANY

    @field_validator("protocol")
    @classmethod
    def _graded(cls, value: str) -> str:
        if value == ANY or value in GRADED:
            return value
        family = next((g.slug for g in GRADED.values() if value in g.members), None)
        hint = f" ({value} is graded as {family})" if family is not None else ""
        raise ValueError(f"{value!r} is not a graded protocol{hint}: give any or one of {', '.join(GRADED)}")

    @field_validator("chain")
    @classmethod
    def _clock_chain(cls, value: str) -> str:
        if _chain_id(value) != CLOCK_CHAIN:
            raise ValueError(f"grade signals are published on chain {CLOCK_CHAIN} only, not on {value}")
        return value


class IndexerHealthParams(_Params):
    """The indexer of the chain lags the head by more than `max_lag_blocks`, or (with `on_failure`) a protocol's
    latest read failed or the last iteration errored."""

    max_lag_blocks: Annotated[int, Field(ge=0, le=MAX_BLOCKS)] = 20
    on_failure: bool = True


class ChannelIn(BaseModel):
    """Where alerts go: `{"type": "webhook", "url": "https://..."}` or `{"type": "email", "address": "..."}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["webhook", "email"]
    url: AnyHttpUrl | None = Field(default=None, description="webhook: http(s) URL (checked again at delivery)")
    address: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="email: recipient address"
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "webhook" and (self.url is None or self.address is not None):
            raise ValueError("a webhook channel takes url (and no address)")
        if self.type == "email" and (self.address is None or self.url is not None):
            raise ValueError("an email channel takes address (and no url)")
        if self.url is not None and len(str(self.url)) > 2000:
            raise ValueError("url longer than 2000 characters")
        return self

    @property
    def target(self) -> str:
        return str(self.url) if self.type == "webhook" else str(self.address)


Confirmations = int | Literal["latest", "finalized"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    confirmations: Annotated[int, Field(ge=0, le=10_000)] | Literal["latest", "finalized"] = 0
    cooldown_blocks: Annotated[int, Field(ge=0, le=MAX_BLOCKS)] = 0
    channels: tuple[ChannelIn, ...] = Field(default=(), max_length=10)

    @field_validator("confirmations")
    @classmethod
    def _latest_is_zero(cls, value: int | str) -> int | str:
        return 0 if value == "latest" else value

    def channel_targets(self) -> tuple[Channel, ...]:
        """The channels without secret (the stored rule adds its secret to webhooks)."""
        return tuple(Channel(c.type, c.target) for c in self.channels)


class PriceMoveRule(_Rule):
    kind: Literal["price_move"]
    params: PriceMoveParams


class TvlChangeRule(_Rule):
    kind: Literal["tvl_change"]
    params: TvlChangeParams


class YieldRule(_Rule):
    kind: Literal["yield"]
    params: YieldParams


class LiquidationExposureRule(_Rule):
    kind: Literal["liquidation_exposure"]
    params: LiquidationExposureParams


class NewProtocolRule(_Rule):
    kind: Literal["new_protocol"]
    params: NewProtocolParams


class GovernanceRule(_Rule):
    kind: Literal["governance"]
    params: GovernanceParams


class GradeSignalRule(_Rule):
    kind: Literal["grade_signal"]
    params: GradeSignalParams


class IndexerHealthRule(_Rule):
    kind: Literal["indexer_health"]
    params: IndexerHealthParams


RuleSpec = Annotated[
    PriceMoveRule
    | TvlChangeRule
    | YieldRule
    | LiquidationExposureRule
    | NewProtocolRule
    | GovernanceRule
    | GradeSignalRule
    | IndexerHealthRule,
    Field(discriminator="kind"),
]
Params = (
    PriceMoveParams
    | TvlChangeParams
    | YieldParams
    | LiquidationExposureParams
    | NewProtocolParams
    | GovernanceParams
    | GradeSignalParams
    | IndexerHealthParams
)
RULE: Final[TypeAdapter[RuleSpec]] = TypeAdapter(RuleSpec)


def parse_rule(body: object) -> RuleSpec:
    """Validate a rule body (API JSON, CLI input, a stored row); `InvalidRule` names the first field at fault."""
    try:
        return RULE.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "rule"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidRule(f"{where}: {message}", field=where) from None


def confirmations_text(value: int | str) -> str:
    """The stored form: "finalized" or the block count."""
    return FINALIZED if value == FINALIZED else str(value)


def confirmations_value(text: str) -> int | str:
    return FINALIZED if text == FINALIZED else int(text)
