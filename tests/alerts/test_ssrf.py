"""SSRF defences: the address check at connect time, DNS rebinding, IP literal tricks, schemes, the allow-list."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

import pytest

from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.ssrf import AddressPolicy, Resolver, address_refusal, guarded_client
from defiscope.alerts.delivery.webhook import WebhookSender
from tests.alerts.kit import SECRET, Receiver, message

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "not globally routable",  # carrier-grade NAT
    "169.254.1.1": "link-local",
    "169.254.169.254": "cloud metadata",
    "224.0.0.1": "multicast",
    "0.0.0.0": "unspecified",
    "240.0.0.1": "reserved",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd00:ec2::254": "cloud metadata",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "IPv4-mapped IPv6 (of 127.0.0.1)",
    "::ffff:8.8.8.8": "IPv4-mapped IPv6 (of 8.8.8.8)",
    "2002:7f00:1::": "loopback (embedded in 2002:7f00:1::)",  # 6to4 of 127.0.0.1
}


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_with_why(address: str, reason: str) -> None:
    assert address_refusal(ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ip_address(address)) is None


def test_the_allow_list_exempts_names_and_networks_but_never_cloud_metadata() -> None:
    policy = AddressPolicy.of(("127.0.0.0/8", "Hooks.Local.", "169.254.0.0/16"))
    assert policy.refusal("anything", "127.0.0.2") is None
    assert policy.refusal("hooks.local", "10.0.0.1") is None  # a named host may be private
    assert policy.refusal("other", "10.0.0.1") == "private"
    assert policy.refusal("anything", "169.254.169.254") == "cloud metadata"


class ScriptedResolver:
    """Answers a name with the next of its scripted address lists (the last one repeats); counts the questions."""

    def __init__(self, answers: Sequence[Sequence[str]]) -> None:
        self.answers = [list(a) for a in answers]
        self.asked = 0

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.asked += 1
        return self.answers[min(self.asked, len(self.answers)) - 1]


def sender(resolver: Resolver | None = None, allow: tuple[str, ...] = ()) -> WebhookSender:
    settings = DeliverySettings(webhook_allow_hosts=allow, webhook_timeout=3.0)
    client = guarded_client(AddressPolicy.of(allow), settings.webhook_timeout, resolver)
    return WebhookSender(client, settings)


async def test_dns_rebinding_is_caught_at_connect_time(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://rebind.example:{port}/hook"
    resolver = ScriptedResolver([["93.184.216.34"], ["127.0.0.1"]])
    # What a check at rule-saving time sees: a public address.
    first = await resolver.resolve("rebind.example", int(port))
    assert AddressPolicy.of(()).refusal("rebind.example", first[0]) is None
    # At delivery the name answers loopback: refused at connect, nothing reaches the receiver.
    msg = message(1)
    outcome = await sender(resolver).send(msg.message_id, url, SECRET, '{"type":"ping"}')
    assert outcome.kind == "refused"
    assert outcome.detail == "rebind.example resolves to 127.0.0.1: loopback (refused: SSRF policy)"
    assert receiver.requests == []


async def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    # The first answer is checked and used; a second lookup (by the OS, say) would answer a refused address.
    resolver = ScriptedResolver([["127.0.0.1"], ["10.9.9.9"]])
    msg = message(1)
    outcome = await sender(resolver, allow=("127.0.0.1",)).send(
        msg.message_id, f"http://hooks.invalid:{port}/hook", SECRET, '{"type":"ping"}'
    )
    assert (outcome.kind, outcome.status) == ("delivered", 204)
    assert resolver.asked == 1
    assert len(receiver.requests) == 1


async def test_any_refused_address_among_several_refuses_the_host(receiver: Receiver) -> None:
    resolver = ScriptedResolver([["93.184.216.34", "169.254.169.254"]])
    outcome = await sender(resolver).send("m", "https://mixed.example/hook", SECRET, "{}")
    assert (outcome.kind, outcome.detail) == (
        "refused",
        "mixed.example resolves to 169.254.169.254: cloud metadata (refused: SSRF policy)",
    )


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "localhost", "[::1]", "[::ffff:7f00:1]"]
)
async def test_loopback_in_any_spelling_is_refused_without_the_allow_list(receiver: Receiver, host: str) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    outcome = await sender().send("m", f"http://{host}:{port}/hook", SECRET, "{}")
    assert outcome.kind == "refused", outcome
    assert "refused" in outcome.detail
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("ftp://hooks.example/x", "webhook URL refused: scheme 'ftp' refused: only http and https"),
        ("file:///etc/passwd", "webhook URL refused: scheme 'file' refused: only http and https"),
        ("gopher://127.0.0.1:70/_x", "webhook URL refused: scheme 'gopher' refused: only http and https"),
        ("https:///nohost", "webhook URL refused: no host"),
    ],
)
async def test_only_http_and_https_urls(url: str, detail: str) -> None:
    outcome = await sender().send("m", url, SECRET, "{}")
    assert (outcome.kind, outcome.detail) == ("refused", detail)
