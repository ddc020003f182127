"""`defiscope delivery`: the alert outbox's worker, test pings, and what could not be delivered.

defiscope delivery worker                       # deliver until Ctrl-C / SIGTERM (serve runs one too)
defiscope delivery ping https://hooks.example/x --secret whsec_...   # a signed `ping` now; exit 1 if not delivered
defiscope delivery ping --email ops@example.org
defiscope delivery status [--json]              # messages per state; dead-lettered and disabled ones with why
defiscope delivery enable https://hooks.example/x   # send to an endpoint again after it answered 410 Gone
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from defiscope.alerts.delivery.outcome import Outcome
from defiscope.alerts.delivery.ping import ping
from defiscope.alerts.delivery.queue import OutboxQueue
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import work_until_signalled
from defiscope.alerts.message import Channel
from defiscope.alerts.retention import RetentionSettings
from defiscope.cli.common import one_line_errors, out
from defiscope.errors import InputError
from defiscope.store import Repository

delivery_app = typer.Typer(
    help="Alert delivery: the outbox worker, test pings, undelivered messages.", no_args_is_help=True
)


class PingInputError(InputError):
    """`delivery ping` needs exactly one of a URL and --email."""


@delivery_app.command("worker")
@one_line_errors
def worker() -> None:
    """Deliver the outbox's messages (webhooks, e-mail) until Ctrl-C or SIGTERM."""
    settings, retention = DeliverySettings.from_env(), RetentionSettings.from_env()  # bad settings: exit 2 first
    repo = Repository.open()
    try:
        out.print("delivering alert messages: Ctrl-C stops", highlight=False)
        asyncio.run(work_until_signalled(repo.engine, settings, retention))
    finally:
        repo.close()


def _print_outcome(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        doc = {"delivered": outcome.kind == "delivered", "outcome": outcome.kind, "detail": outcome.detail}
        out.print_json(json.dumps({**doc, "status": outcome.status}))
    else:
        out.print(f"{outcome.kind}: {outcome.detail}", highlight=False, soft_wrap=True)


@delivery_app.command("ping")
@one_line_errors
def ping_command(
    url: Annotated[str | None, typer.Argument(help="The webhook URL.")] = None,
    secret: Annotated[str | None, typer.Option("--secret", help="The rule's whsec_ signing secret.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Send the ping by e-mail to this address.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Send a signed test message (type "ping") now; exit 1 when it was not delivered."""
    if (url is None) == (email is None):
        raise PingInputError("give a webhook URL or --email, not both", field="url")
    if url is not None and not secret:
        raise PingInputError("--secret: a webhook ping is signed with the rule's whsec_ secret", field="secret")
    channel = Channel("webhook", url, secret) if url is not None else Channel("email", str(email))
    outcome = asyncio.run(ping(channel, DeliverySettings.from_env()))
    _print_outcome(outcome, as_json)
    if outcome.kind != "delivered":
        raise typer.Exit(1)


@delivery_app.command("status")
@one_line_errors
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Messages per state, and the newest dead-lettered or disabled ones with why."""
    repo = Repository.open()
    try:
        queue = OutboxQueue(repo.engine, DeliverySettings.from_env())
        counts, undelivered = queue.counts(), queue.undelivered()
    finally:
        repo.close()
    if as_json:
        letters = [
            {"id": d.row_id, "message_id": d.message_id, "channel": d.channel, "target": d.target, "state": d.state}
            | {"attempts": d.attempts, "last_error": d.last_error}
            for d in undelivered
        ]
        out.print_json(json.dumps({"counts": counts, "undelivered": letters}))
        return
    out.print("  ".join(f"{state}: {n}" for state, n in counts.items()), highlight=False)
    for d in undelivered:
        line = f"{d.state} {d.message_id} -> {d.channel} {d.target} after {d.attempts} tries: {d.last_error}"
        out.print(line, highlight=False, soft_wrap=True)


@delivery_app.command("enable")
@one_line_errors
def enable(url: Annotated[str, typer.Argument(help="The webhook URL disabled by 410 Gone.")]) -> None:
    """Send to a webhook endpoint again after it answered 410 Gone (new messages only)."""
    repo = Repository.open()
    try:
        enabled = OutboxQueue(repo.engine, DeliverySettings.from_env()).enable("webhook", url)
    finally:
        repo.close()
    if not enabled:
        raise PingInputError(f"{url} is not disabled", field="url")
    out.print(f"enabled: {url}", highlight=False)
