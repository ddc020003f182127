"""`python -m defiscope.alerts.delivery`: the delivery worker alone, as `defiscope delivery worker` runs it, but
without importing the whole command line (a worker process starts in a third of the time)."""

from __future__ import annotations

import asyncio

from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import work_until_signalled
from defiscope.store import Repository


def main() -> None:
    settings = DeliverySettings.from_env()
    repo = Repository.open()
    try:
        asyncio.run(work_until_signalled(repo.engine, settings))
    finally:
        repo.close()


if __name__ == "__main__":
    main()
