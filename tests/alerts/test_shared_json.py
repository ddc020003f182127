"""A body whose evidence carries shared entries (`AlertMessage.shared`) is byte for byte the body encoded whole: the
shared entries' text is encoded once and reused, never different."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from defiscope.alerts.message import AlertMessage, SharedJson, compact_json
from defiscope.alerts.outbox import body_text

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _message(evidence: dict[str, Any]) -> AlertMessage:
    return AlertMessage(
        "alert.firing", 1, "alr_1", "r1", "tvl_change", 1, 7, "0x" + "ab" * 32, "1", None, "100", evidence
    )


def _shared(evidence: dict[str, Any], keys: list[str]) -> dict[str, SharedJson]:
    return {key: SharedJson(evidence[key]) for key in keys if key in evidence}


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=5), st.data())
def test_a_body_with_shared_entries_is_the_body_encoded_whole(evidence: dict[str, Any], data: st.DataObject) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(evidence)), unique=True) if evidence else st.just([]))
    whole = _message(evidence)
    assert body_text(replace(whole, shared=_shared(evidence, keys))) == body_text(whole) == compact_json(whole.body())


def test_a_detail_shared_by_many_messages_is_encoded_once() -> None:
    detail = {"tokens": [{"symbol": "wETH", "raw": 2**200, "note": "é\u2028"}], "calls": 3}
    shared = SharedJson(detail)
    messages = [_message({"tvl_usd": str(i), "snapshot_detail": detail, "subject": "x"}) for i in range(3)]
    bodies = [body_text(replace(m, shared={"snapshot_detail": shared})) for m in messages]
    assert bodies == [compact_json(m.body()) for m in messages]
    assert json.loads(bodies[0])["data"]["evidence"]["snapshot_detail"]["tokens"][0]["raw"] == 2**200
    assert shared.text is shared.text  # encoded once, the same text reused


def test_a_shared_entry_of_another_value_is_not_used() -> None:
    """A message whose evidence was changed after the entry was shared encodes its own value."""
    stale = SharedJson({"calls": 3})
    message = _message({"snapshot_detail": {"calls": 4}})
    assert body_text(replace(message, shared={"snapshot_detail": stale})) == compact_json(message.body())
