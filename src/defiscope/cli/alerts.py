"""`defiscope alerts`: alert rules of an API key, and backtests over the stored history.

defiscope alerts rules add price_move --key ci --params '{"chain": "ethereum", "token": "WETH",
    "window_blocks": 10, "threshold_pct": 0.5}' --webhook https://example.org/hook      # prints id and whsec_ secret
defiscope alerts rules add new_protocol --key ci --params '{"chain": "ethereum", "scope": "pool",
    "min_tvl_usd": 100000, "within_days": 3}'                                            # new pools above $100k
defiscope alerts rules list --key ci [--json]
defiscope alerts rules rm rul_0123abcd --key ci
defiscope alerts backtest rul_0123abcd --from-block 100 --to-block 200 --json

A backtest of a `liquidation_exposure` rule, or of a `new_protocol` rule over pools, reads the chain at each stored
block of its range (positions; young pools' holdings, at most `MAX_POOL_BACKTEST_BLOCKS` blocks, with a progress bar
on stderr for long ranges): the node must keep the state of those blocks (an archive node on mainnet).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Final

import typer

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest, backtestable
from defiscope.alerts.engine import ExposureSource, exposure_wanted, pool_window
from defiscope.alerts.exposure import ExposureKey, read_exposure
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.pools import load_discovery
from defiscope.alerts.rules import KINDS, parse_rule
from defiscope.alerts.wiring import governance_source, signal_source
from defiscope.chain.client import ChainClient
from defiscope.cli.common import block_progress, one_line_errors, out
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.service.context import ChainTarget, build_engine, resolve_targets
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from defiscope.store.keys import KeyStore

alerts_app = typer.Typer(help="Alert rules and their backtests.", no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules of an API key.", no_args_is_help=True)
alerts_app.add_typer(rules_app, name="rules")

#: Blocks from which a pool-scope backtest (a chain read per stored block) shows a progress bar on stderr.
POOL_PROGRESS_BLOCKS: Final = 200

KeyOption = Annotated[str, typer.Option("--key", help="The owning API key's name or id (defiscope keys list).")]


class AlertsInputError(InputError):
    pass


def _owner(repo: Repository, name_or_id: str) -> str:
    for key in KeyStore(repo.engine).all():
        if key.active and name_or_id in (key.name, key.key_id):
            return key.key_id
    raise AlertsInputError(f"--key: no active API key named or with id {name_or_id!r} (see defiscope keys list)")


def _params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_float=str)  # decimals stay exact: "0.1" is parsed by the rule's model
    except json.JSONDecodeError as exc:
        raise AlertsInputError(f"--params: not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise AlertsInputError("--params: expected a JSON object")
    return value


@rules_app.command("add")
@one_line_errors
def add(
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(KINDS)}.")],
    key: KeyOption,
    params: Annotated[
        str,
        typer.Option(
            "--params",
            help=(
                "The kind's params as a JSON object (all in the API's OpenAPI schema). new_protocol: "
                '{"chain": "ethereum", "min_tvl_usd": 1000000, "within_days": 7, "scope": "protocol"} '
                '("scope": "pool" watches DEX pools created within the window instead).'
            ),
        ),
    ],
    confirmations: Annotated[str, typer.Option(help="latest, finalized or a block count.")] = "latest",
    cooldown: Annotated[int, typer.Option("--cooldown", help="Blocks before the rule fires again.")] = 0,
    webhook: Annotated[list[str] | None, typer.Option("--webhook", help="Webhook URL (repeatable).")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="E-mail address (repeatable).")] = None,
) -> None:
    """Add a rule; prints its id and its webhook secret (once)."""
    channels = [{"type": "webhook", "url": u} for u in webhook or ()] + [
        {"type": "email", "address": a} for a in email or ()
    ]
    confirmed: int | str = int(confirmations) if confirmations.isascii() and confirmations.isdigit() else confirmations
    body = {
        "kind": kind,
        "params": _params(params),
        "confirmations": confirmed,
        "cooldown_blocks": cooldown,
        "channels": channels,
    }
    spec = parse_rule(body)
    repo = Repository.open()
    try:
        stored, secret = manage.create(spec, _owner(repo, key))
        RuleStore(repo.engine).add(stored)
    finally:
        repo.close()
    out.print(f"{stored.id} {secret}", highlight=False, soft_wrap=True)


@rules_app.command("list")
@one_line_errors
def list_rules(key: KeyOption, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List a key's rules (never their secrets)."""
    repo = Repository.open()
    try:
        rules = RuleStore(repo.engine).owned(_owner(repo, key))
    finally:
        repo.close()
    if as_json:
        out.print_json(json.dumps([manage.rule_document(r) for r in rules]))
        return
    for rule in rules:
        conf = manage.rule_document(rule)["confirmations"]
        line = f"{rule.id}  {rule.kind}  chain {rule.chain_id}  {json.dumps(rule.params)}  confirmations {conf}"
        out.print(f"{line}  cooldown {rule.cooldown_blocks}", highlight=False, soft_wrap=True)


@rules_app.command("rm")
@one_line_errors
def remove(rule_id: Annotated[str, typer.Argument(help="The rule's id.")], key: KeyOption) -> None:
    """Delete a rule of the key (and its alerts)."""
    repo = Repository.open()
    try:
        if not RuleStore(repo.engine).remove(rule_id, _owner(repo, key)):
            raise AlertsInputError(f"no alert rule {rule_id!r} of key {key!r} (see defiscope alerts rules list)")
    finally:
        repo.close()
    out.print(f"removed {rule_id}", highlight=False)


@alerts_app.command("backtest")
@one_line_errors
def backtest_rule(
    rule_id: Annotated[str, typer.Argument(help="The rule's id.")],
    from_block: Annotated[int, typer.Option("--from-block", help="First block (inclusive).")],
    to_block: Annotated[int, typer.Option("--to-block", help="Last block (inclusive).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the alert bodies as JSON.")] = False,
) -> None:
    """When a rule would have fired and resolved over the stored blocks, in the format of live alerts."""
    repo = Repository.open()
    try:
        rule = RuleStore(repo.engine).get(rule_id, None)
        if rule is None:
            raise AlertsInputError(f"no alert rule {rule_id!r} (see defiscope alerts rules list)")
        bodies = asyncio.run(_backtest(repo, rule, from_block, to_block))
    finally:
        repo.close()
    if as_json:
        out.print_json(json.dumps(bodies))
        return
    for body in bodies:
        data = body["data"]
        line = f"{body['type']:<16} block {data['block']['number']}  value {data['value']}  previous {data['previous']}"
        out.print(f"{line}  threshold {data['threshold']}", highlight=False, soft_wrap=True)


async def _backtest(repo: Repository, rule: StoredRule, from_block: int, to_block: int) -> list[dict[str, Any]]:
    figures = StoredFigures(repo.engine)
    governance, signals = governance_source(repo), signal_source(repo)
    loaded = backtestable(rule, from_block, to_block)  # refused before any chain is opened
    wants_exposure, pools_within = bool(exposure_wanted([loaded])), pool_window(loaded.spec.params)
    if not wants_exposure and pools_within is None:
        return await backtest(figures, rule, from_block, to_block, governance=governance, signals=signals)
    (target,) = resolve_targets(load_settings(), [str(rule.chain_id)])
    if pools_within is not None:
        return await _pool_backtest(repo, figures, rule, target, from_block, to_block)
    async with ChainClient.connect(target.chain_id, target.rpc_urls, max_batch_items=6) as client:

        async def exposure(number: int, wanted: Collection[ExposureKey]) -> Mapping[ExposureKey, Any]:
            return await read_exposure(client, target.deployment, number, wanted)

        reader: ExposureSource = exposure
        return await backtest(figures, rule, from_block, to_block, exposure=reader, governance=governance)


async def _pool_backtest(
    repo: Repository, figures: StoredFigures, rule: StoredRule, target: ChainTarget, from_block: int, to_block: int
) -> list[dict[str, Any]]:
    """A `scope: pool` rule: young pools' holdings read from the chain at each stored block (a progress bar on
    stderr when the range is long), the pools that existed from the creation cursors the indexer stored. The
    chain's engine is built as the indexer builds it (its RPC settings: timeouts, batch sizes, rate limits)."""
    engine = build_engine(target, load_settings().rpc)
    try:
        await load_discovery(engine, repo)
        long_range = to_block - from_block + 1 >= POOL_PROGRESS_BLOCKS
        with block_progress(f"backtest {rule.id}", disable=not long_range) as report:
            return await backtest(figures, rule, from_block, to_block, pools=engine, progress=report)
    finally:
        await engine.client.aclose()
