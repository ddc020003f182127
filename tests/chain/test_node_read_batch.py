"""Calls and logs asked `with_node_reads` share the turn's node-read batch with code and storage reads: one HTTP
request for all, the same answers as asked their own way; a log query the provider refuses there is asked again
alone, its range split."""

from __future__ import annotations

import asyncio

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.provider_proxy import ProviderProfile
from defiscope.protocols.control.proxy import IMPLEMENTATION_SLOT
from defiscope.protocols.control.rounds import CONTROL_TOPICS
from tests.chain.conftest import StartProxy

PROVIDER = "ADDRESSES_PROVIDER()(address)"


async def test_code_storage_calls_and_logs_go_out_in_one_request(client: ChainClient, deployment: Deployment) -> None:
    pool, acl = deployment.contracts["AaveV3Pool"], deployment.contracts["AaveV3ACLManager"]
    reader = Batcher(await client.snapshot()).reader("together")
    before = client.rpc.total_requests()
    code, implementation, (provider,), logs = await asyncio.gather(
        reader.code(pool),
        reader.storage(pool, IMPLEMENTATION_SLOT),
        reader.call_many([Call.of(pool, PROVIDER)], with_node_reads=True),
        reader.logs(address=acl, topics=[list(CONTROL_TOPICS)], from_block=0, with_node_reads=True),
    )
    assert client.rpc.total_requests() - before == 1
    assert code
    assert implementation
    assert logs  # the ACL manager's RoleGranted events

    alone = Batcher(await client.snapshot(reader.block.number)).reader("alone")
    before = client.rpc.total_requests()
    (own_provider,) = await alone.call_many([Call.of(pool, PROVIDER)])
    own_logs = await alone.logs(address=acl, topics=[list(CONTROL_TOPICS)], from_block=0)
    assert client.rpc.total_requests() - before == 2
    assert (provider.value, logs) == (own_provider.value, own_logs)
    assert own_provider.value[0] == deployment.contracts["AaveV3PoolAddressesProvider"]
    assert reader.records[0].value == own_provider.value  # recorded as provenance, as any call


async def test_a_log_query_refused_in_the_batch_is_asked_alone_and_split(
    client: ChainClient, deployment: Deployment, provider_proxy: StartProxy
) -> None:
    acl = deployment.contracts["AaveV3ACLManager"]
    head = await client.snapshot()
    expected = await Batcher(head).reader("direct").logs(address=acl, topics=[list(CONTROL_TOPICS)], from_block=0)
    proxy = provider_proxy(ProviderProfile("short-logs", max_log_blocks=200))
    async with ChainClient.connect(1, [proxy.url]) as limited:
        reader = Batcher(await limited.snapshot(head.block.number)).reader("limited")
        logs = await reader.logs(address=acl, topics=[list(CONTROL_TOPICS)], from_block=0, with_node_reads=True)
    assert logs == expected
    assert expected
    assert proxy.counters.range_refusals >= 1
    assert head.block.number > 200  # the query was wider than the provider serves
