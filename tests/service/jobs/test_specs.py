"""Job descriptions: backfill chunks cover exactly the blocks of one backfill of the range, each once."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.service.jobs import settings, specs
from defiscope.service.jobs.settings import InvalidJobSettings, JobSettings
from defiscope.service.jobs.specs import BackfillChunk, JobInputError, backfill_chunks


def test_doctests() -> None:
    assert doctest.testmod(specs).failed == 0
    assert doctest.testmod(settings).failed == 0


@given(
    start=st.integers(0, 10_000),
    length=st.integers(0, 3_000),
    step=st.integers(1, 50),
    chunk=st.integers(1, 400),
)
def test_chunks_ask_exactly_the_blocks_of_the_range(start: int, length: int, step: int, chunk: int) -> None:
    chunks = backfill_chunks(1, "aave-v3", start, start + length, step=step, chunk=chunk)
    asked = [n for c in chunks for n in c.blocks]
    assert asked == list(range(start, start + length + 1, step))
    assert all(len(c.blocks) <= chunk for c in chunks)
    assert len({c.key for c in chunks}) == len(chunks)
    assert all(BackfillChunk.from_message(c.to_message()) == c for c in chunks)


@pytest.mark.parametrize(
    ("first", "last", "step", "chunk", "problem"),
    [(5, 4, 1, 10, "empty"), (-1, 4, 1, 10, "negative"), (0, 9, 0, 10, "step"), (0, 9, 1, 0, "chunk")],
)
def test_a_bad_range_is_refused_naming_the_problem(first: int, last: int, step: int, chunk: int, problem: str) -> None:
    with pytest.raises(JobInputError, match=problem):
        backfill_chunks(1, "aave-v3", first, last, step=step, chunk=chunk)


def test_bad_settings_from_the_environment_are_refused() -> None:
    with pytest.raises(InvalidJobSettings, match="lease_seconds"):
        JobSettings.from_env({"DEFISCOPE_JOBS_LEASE_SECONDS": "0"})
    with pytest.raises(InvalidJobSettings, match="queue_prefix"):
        JobSettings.from_env({"DEFISCOPE_JOBS_QUEUE_PREFIX": "a b"})
