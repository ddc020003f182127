from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import ACCOUNTS
from defiscope.devnet.provider_proxy import Faults, ProviderProfile, ProviderProxy

#: Starts a provider simulator in front of a devnet chain: `provider_proxy("free")`, or with a profile of the
#: test's own and faults; `chain_id` picks the anvil (default chain 1). Stopped after the test.
StartProxy = Callable[..., ProviderProxy]


@pytest.fixture
def holders() -> list[str]:
    """The devnet's deterministic accounts 0..9 (anvil's default mnemonic)."""
    return list(ACCOUNTS)


@pytest.fixture
def provider_proxy(devnet: Devnet) -> Iterator[StartProxy]:
    """The provider simulator wrapping the devnet's anvils, as `defiscope devnet up --provider-limits` runs it."""
    started: list[ProviderProxy] = []

    def start(
        plan: ProviderProfile | str = "free", *, faults: Faults | None = None, chain_id: int = 1
    ) -> ProviderProxy:
        proxy = ProviderProxy(devnet.chain(chain_id).rpc_url, plan, faults=faults).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
