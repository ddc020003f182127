"""An Aragon app (Lido's stETH on mainnet is one) behind the AppProxyUpgradeable replica: read as an ERC-897 proxy
whose admin chain is its kernel, then the kernel's ACL as unknown — never "not a proxy, no admin"."""

from __future__ import annotations

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import LIDO_APP_ID, deploy_aragon_app, set_app_base
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import ARAGON_ACL_WHY
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract
from defiscope.protocols.control.proxy import read_proxy
from defiscope.protocols.surface import ContractUse


async def _inspect(client: ChainClient, address: str) -> ContractControl:
    reader = Batcher(await client.snapshot()).reader("control")
    return await inspect_contract(reader, ContractUse("stETH", "lido/StETH", address=address))


async def test_an_aragon_app_proxy_is_custom_with_its_kernel_then_an_unknown_acl(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    base = sender.deploy(contract_artifact("EmptyContract"))
    app = deploy_aragon_app(sender, base.address, app_id=LIDO_APP_ID)
    control = await _inspect(client, app.proxy.address)
    proxy = control.proxy
    assert (proxy.kind, proxy.pattern) == ("custom", "aragon-app")
    assert (proxy.implementation, proxy.admin) == (base.address, app.kernel.address)
    chain = [(link.kind, link.address) for link in control.admin_chain]
    assert chain == [("contract", app.kernel.address), ("unknown", app.acl.address)]
    assert control.admin_chain[-1].why == ARAGON_ACL_WHY
    assert control.to_json()["proxy"] == "custom"


async def test_an_aragon_app_upgrade_through_the_kernel_shows_the_new_implementation(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    first, second = (sender.deploy(contract_artifact("EmptyContract")) for _ in range(2))
    app = deploy_aragon_app(sender, first.address, app_id=LIDO_APP_ID)
    set_app_base(sender, app, second.address)
    reader = Batcher(await client.snapshot()).reader("control")
    assert (await read_proxy(reader, app.proxy.address)).implementation == second.address
    # The proxy delegates to the kernel's base: the app answers as its implementation does.
    assert app.proxy.address != second.address
    assert sender.contract(contract_artifact("EmptyContract"), app.proxy.address).functions.foo().call() == 0


async def test_a_plain_contract_is_still_not_a_proxy(client: ChainClient, eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    base = sender.deploy(contract_artifact("EmptyContract"))
    reader = Batcher(await client.snapshot()).reader("control")
    assert (await read_proxy(reader, base.address)).kind == "none"


async def test_the_devnet_steth_reads_as_mainnet_an_aragon_app_never_no_admin(
    client: ChainClient, deployment: Deployment
) -> None:
    steth = deployment.contracts["LidoStETH"]
    surface = await control_surface(Batcher(await client.snapshot()).reader("control"), deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == steth]
    assert (control.proxy.kind, control.proxy.pattern) == ("custom", "aragon-app")
    assert control.proxy.implementation not in (None, steth)
    assert [link.kind for link in control.admin_chain] == ["contract", "unknown"]
    assert control.admin_chain[0].address == control.proxy.admin
    assert control.admin_chain[-1].why == ARAGON_ACL_WHY
