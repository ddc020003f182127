"""A SQLite store with grades published over a trending hand-built market (`kit.trending_world`): for the API
and CLI tests, which read what is published."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from defiscope.analytics.grades.publish import publish_grades
from defiscope.store import Repository
from tests.analytics.grades.kit import FIRST_BLOCK, SHARES, TOKENS, trending_world

DAYS = 50
PUBLISHED_DAYS = tuple(range(31, DAYS + 1))


@dataclass(frozen=True, slots=True)
class PublishedStore:
    url: str
    blocks: tuple[int, ...]  # the published blocks, oldest first
    newest_stored: int


async def published_store(folder: Path) -> PublishedStore:
    url = f"sqlite:///{folder / 'grades.db'}"
    repo = Repository.open(url)
    try:
        trending_world(repo, DAYS, turn=35)
        blocks = tuple(FIRST_BLOCK + day for day in PUBLISHED_DAYS)
        for number in blocks:
            await publish_grades(repo, lambda block: None, number, tokens=TOKENS, revenue_shares=SHARES)
    finally:
        repo.close()
    return PublishedStore(url, blocks, FIRST_BLOCK + DAYS)
