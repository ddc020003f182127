"""Aragon apps on the devnet: an app behind a replica of aragonOS 4's AppProxyUpgradeable (as Lido's stETH is on
mainnet), its code held by a kernel whose ACL says who holds APP_MANAGER_ROLE, and Lido's DAO Voting holding it
(contracts/src/AragonApps.sol).

Example::

    app = deploy_aragon_app(sender, implementation.address, app_id=LIDO_APP_ID)   # account 0 holds the role
    set_app_base(sender, app, new_implementation)      # an upgrade: the kernel's setApp by the role's holder
    agent = deploy_agent(sender, app.kernel)           # an Agent app of the same kernel (while account 0 may setApp)
    dao = hand_to_voting(sender, app)                  # as Lido's DAO template ends: the Voting holds and manages it
    agent_to_voting(sender, dao, agent.address)        # the Voting alone may make the Agent act
    vote_set_app(sender, dao, newer_implementation)    # an upgrade now takes a passed vote of LDO holders
    vote_grant_after(sender, dao, eoa, when)           # APP_MANAGER_ROLE to an EOA once `when` passed

A DAO of other apps (Curve's: an Agent and its Ownership Voting) starts from `deploy_dao` (a kernel and its ACL) and
an Agent the deployer may use while it sets things up (`deployer_runs_agent`), then hands both to its Voting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_utils import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.spec import USER_ACCOUNTS
from defiscope.devnet.tx import Sender

#: aragonOS's namespace of app bases (implementations): keccak256("base").
APP_BASES_NAMESPACE: Final = keccak(text="base")
APP_MANAGER_ROLE: Final = keccak(text="APP_MANAGER_ROLE")
CREATE_VOTES_ROLE: Final = keccak(text="CREATE_VOTES_ROLE")
#: The Agent's roles that make it act: any call (`execute`), and an EVM script (`forward`).
EXECUTE_ROLE: Final = keccak(text="EXECUTE_ROLE")
RUN_SCRIPT_ROLE: Final = keccak(text="RUN_SCRIPT_ROLE")
AGENT_ROLES: Final = (EXECUTE_ROLE, RUN_SCRIPT_ROLE)


def namehash(name: str) -> bytes:
    """ENS namehash, as aragonOS names app ids (an APM repo's name).

    >>> namehash("lido.lidopm.eth") == LIDO_APP_ID
    True
    """
    node = b"\0" * 32
    for label in reversed(name.split(".")):
        node = keccak(node + keccak(text=label))
    return node


#: Lido's app ids on mainnet: namehash("lido.lidopm.eth"), namehash("aragon-voting.lidopm.eth").
LIDO_APP_ID: Final = bytes.fromhex("3ca7c3e38968823ccb4c78ea688df41356f182ae1d159e4ee608d30d68cef320")
VOTING_APP_ID: Final = bytes.fromhex("0abcd104777321a82b010357f20887d61247493d89d2e987ff57bcecbde00e1e")
#: namehash("aragon-agent.lidopm.eth"): Lido's DAO Agent.
AGENT_APP_ID: Final = bytes.fromhex("701a4fd1f5174d12a0f1d9ad2c88d0ad11ab6aad0ac72b7d9ce621815f8016a9")
#: aragonOS's CallsScript spec id: an EVM script of plain calls.
CALLS_SCRIPT: Final = (1).to_bytes(4, "big")
#: aragonOS ACL parameters (ACLParams): the block's timestamp as the parameter id, compared greater-than.
TIMESTAMP_PARAM_ID: Final = 201
OP_GT: Final = 3
PCT: Final = 10**16  # 1 % in the Voting's PCT_BASE (10**18)


@dataclass(frozen=True, slots=True)
class VotingSpec:
    """A DAO's Voting app: its id, its token (a MiniMe here; account 0 holds `OWNER_SHARE` % of the supply, accounts
    1..9 share the rest, so no single holder decides a vote), support and quorum (fractions of 10**18), vote time."""

    app_id: bytes
    token_name: str
    token_symbol: str
    support_required: int
    min_accept_quorum: int
    #: Mainnet's vote times are days; a minute here, as the devnet's timelock delays are short, so that `serve`'s
    #: ticks see votes through.
    vote_time: int = 60


#: Lido's DAO Voting on mainnet: support > 50 % of votes, yes > 5 % of LDO (its vote time: 72 h there).
LIDO_VOTING: Final = VotingSpec(VOTING_APP_ID, "Lido DAO Token", "LDO", 50 * PCT, 5 * PCT)
#: Each Voting token's supply (LDO's: 1 billion) and account 0's share of it.
TOKEN_SUPPLY: Final = 1_000_000_000 * 10**18
OWNER_SHARE: Final = 40


@dataclass(frozen=True, slots=True)
class AragonApp:
    proxy: Contract
    kernel: Contract
    acl: Contract
    app_id: bytes


@dataclass(frozen=True, slots=True)
class AragonDao:
    """An app whose APP_MANAGER_ROLE is the Voting's, and the Voting's token."""

    app: AragonApp
    voting: Contract
    token: Contract


def deploy_aragon_app(sender: Sender, implementation: str, *, app_id: bytes) -> AragonApp:
    """An app at ``implementation`` behind a new AppProxyUpgradeable of a new DAO (`deploy_dao`)."""
    kernel, acl = deploy_dao(sender)
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, app_id, b"")
    app = AragonApp(proxy, kernel, acl, app_id)
    set_app_base(sender, app, implementation)
    return app


def deploy_dao(sender: Sender) -> tuple[Contract, Contract]:
    """A kernel and its ACL; account 0 holds and manages APP_MANAGER_ROLE (a DAO template's state before it hands
    the role over), created through the ACL as aragonOS does."""
    acl = sender.deploy(contract_artifact("AragonACL"), sender.owner)
    kernel = deploy_kernel(sender, acl.address)
    sender.send(acl.functions.createPermission(sender.owner, kernel.address, APP_MANAGER_ROLE, sender.owner))
    return kernel, acl


def deploy_kernel(sender: Sender, acl: str) -> Contract:
    """A kernel as aragonOS deploys one: its code behind a KernelProxy (the core app of its own registry), then
    initialized with ``acl`` as its ACL (created for account 0, the permissions creator)."""
    base = sender.deploy(contract_artifact("AragonKernel"))
    proxy = sender.deploy(contract_artifact("KernelProxy"), base.address)
    kernel = sender.contract(contract_artifact("AragonKernel"), proxy.address)
    sender.send(kernel.functions.initialize(acl, sender.owner))
    return kernel


def set_app_base(sender: Sender, app: AragonApp, implementation: str) -> TxReceipt:
    """Upgrade the app: the kernel's setApp in the bases namespace, sent by account 0 (it must hold the role)."""
    return sender.send(app.kernel.functions.setApp(APP_BASES_NAMESPACE, app.app_id, implementation))


def hand_to_voting(sender: Sender, app: AragonApp, spec: VotingSpec = LIDO_VOTING) -> AragonDao:
    """The DAO as its template leaves it: the Voting of ``spec`` (itself an app of the kernel) and its token, the
    Voting holding and managing APP_MANAGER_ROLE, account 0's grant revoked; account 0 may create votes (mainnet:
    token holders through the Token Manager)."""
    token = _deploy_token(sender, spec)
    voting_base = sender.deploy(contract_artifact("AragonVoting"))
    sender.send(app.kernel.functions.setApp(APP_BASES_NAMESPACE, spec.app_id, voting_base.address))
    settings = [token.address, spec.support_required, spec.min_accept_quorum, spec.vote_time]
    init = voting_base.encode_abi("initialize", args=settings)
    proxy = sender.deploy(
        contract_artifact("AppProxyUpgradeable"), app.kernel.address, spec.app_id, bytes.fromhex(init[2:])
    )
    voting = sender.contract(contract_artifact("AragonVoting"), proxy.address)
    acl = app.acl.functions
    sender.send(acl.createPermission(sender.owner, voting.address, CREATE_VOTES_ROLE, voting.address))
    _hand_role(sender, app.acl, voting.address, app.kernel.address, APP_MANAGER_ROLE)
    return AragonDao(app, voting, token)


def _hand_role(sender: Sender, acl: Contract, to: str, where: str, role: bytes) -> None:
    """``role`` on ``where`` to ``to`` alone, held and managed: created for it, or (account 0 holding and managing
    it) granted, account 0's grant revoked and the management passed on."""
    functions = acl.functions
    if int(functions.getPermissionManager(where, role).call(), 16) == 0:
        sender.send(functions.createPermission(to, where, role, to))
        return
    sender.send(functions.grantPermission(to, where, role))
    sender.send(functions.revokePermission(sender.owner, where, role))
    sender.send(functions.setPermissionManager(to, where, role))


def deploy_agent(sender: Sender, kernel: Contract, app_id: bytes = AGENT_APP_ID) -> Contract:
    """An Agent app of ``kernel`` behind its own AppProxyUpgradeable, initialized (Lido's DAO Agent by default);
    account 0 must still hold APP_MANAGER_ROLE (its base is set with the kernel's setApp). No one may use it yet
    (`agent_to_voting`, `deployer_runs_agent`)."""
    base = sender.deploy(contract_artifact("AragonAgent"))
    sender.send(kernel.functions.setApp(APP_BASES_NAMESPACE, app_id, base.address))
    init = bytes.fromhex(base.encode_abi("initialize", args=[])[2:])
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, app_id, init)
    return sender.contract(contract_artifact("AragonAgent"), proxy.address)


def deployer_runs_agent(sender: Sender, acl: Contract, agent: str) -> None:
    """Account 0 holds and manages the Agent's EXECUTE_ROLE while it sets up what the Agent administers (its
    `agent_execute`), as a DAO template holds roles until it hands them over (`agent_to_voting`)."""
    sender.send(acl.functions.createPermission(sender.owner, agent, EXECUTE_ROLE, sender.owner))


def agent_execute(sender: Sender, agent: Contract, target: str, data: str | bytes) -> TxReceipt:
    """The Agent calls ``target`` with ``data`` (its ``execute``), sent by account 0, which must hold EXECUTE_ROLE."""
    payload = bytes.fromhex(data[2:]) if isinstance(data, str) else data
    return sender.send(agent.functions.execute(target, 0, payload))


def agent_to_voting(sender: Sender, dao: AragonDao, agent: str, roles: tuple[bytes, ...] = AGENT_ROLES) -> None:
    """As on mainnet: the Voting alone holds and manages the Agent's ``roles`` (Lido's: EXECUTE_ROLE and
    RUN_SCRIPT_ROLE), created by account 0, the permissions creator, as a DAO template does; or handed over from
    account 0 when it held one."""
    roles_to_voting(sender, dao, agent, roles)


def roles_to_voting(sender: Sender, dao: AragonDao, app: str, roles: tuple[bytes, ...]) -> None:
    """The Voting alone holds and manages each of ``roles`` on the app ``app`` (created by account 0, the
    permissions creator, or handed over from it), as Lido's DAO template leaves its apps' roles."""
    for role in roles:
        _hand_role(sender, dao.app.acl, dao.voting.address, app, role)


def aragon_dao(sender: Sender, app_address: str) -> AragonDao:
    """The DAO of a deployed app, read from the chain: its kernel and ACL, the Voting that manages APP_MANAGER_ROLE
    (`hand_to_voting`), the Voting's token."""
    proxy = sender.contract(contract_artifact("AppProxyUpgradeable"), app_address)
    kernel = sender.contract(contract_artifact("AragonKernel"), proxy.functions.kernel().call())
    acl = sender.contract(contract_artifact("AragonACL"), kernel.functions.acl().call())
    manager = acl.functions.getPermissionManager(kernel.address, APP_MANAGER_ROLE).call()
    voting = sender.contract(contract_artifact("AragonVoting"), manager)
    token = sender.contract(contract_artifact("MiniMeToken"), voting.functions.token().call())
    return AragonDao(AragonApp(proxy, kernel, acl, proxy.functions.appId().call()), voting, token)


def _deploy_token(sender: Sender, spec: VotingSpec) -> Contract:
    token = sender.deploy(contract_artifact("MiniMeToken"), spec.token_name, spec.token_symbol, sender.owner)
    owner_amount = TOKEN_SUPPLY * OWNER_SHARE // 100
    each = (TOKEN_SUPPLY - owner_amount) // len(USER_ACCOUNTS)
    sender.send(token.functions.generateTokens(sender.owner, owner_amount))
    for index in USER_ACCOUNTS:
        sender.send(token.functions.generateTokens(sender.accounts[index], each))
    return token


def calls_script(*calls: tuple[str, bytes]) -> bytes:
    """An EVM script of plain calls (aragonOS's CallsScript): spec id, then target, calldata length, calldata."""
    body = b"".join(bytes.fromhex(to[2:]) + len(data).to_bytes(4, "big") + data for to, data in calls)
    return CALLS_SCRIPT + body


def run_vote(sender: Sender, dao: AragonDao, script: bytes, metadata: str = "") -> TxReceipt:
    """A passed vote on ``script``: account 0 starts it (voting yes), accounts 1 and 2 vote yes; their yes then
    passes more than half of all LDO, so the last vote executes it (its receipt: the script's block)."""
    vote_id = dao.voting.functions.votesLength().call()
    sender.send(dao.voting.functions.newVote(script, metadata, True, False))
    sender.send(dao.voting.functions.vote(vote_id, True, False), sender=sender.accounts[1])
    receipt = sender.send(dao.voting.functions.vote(vote_id, True, True), sender=sender.accounts[2])
    if not dao.voting.functions.getVote(vote_id).call()[1]:
        raise DevnetError(f"vote {vote_id} passed but did not execute")
    return receipt


def vote_set_app(sender: Sender, dao: AragonDao, implementation: str) -> TxReceipt:
    """Upgrade the app through the Voting: a passed vote on the kernel's ``setApp`` (`run_vote`)."""
    kernel = dao.app.kernel
    data = kernel.encode_abi("setApp", args=[APP_BASES_NAMESPACE, dao.app.app_id, implementation])
    script = calls_script((kernel.address, bytes.fromhex(data[2:])))
    return run_vote(sender, dao, script, f"upgrade to {implementation}")


def timestamp_after(when: int) -> int:
    """One encoded ACL parameter: id (8 bits) | op (8 bits) | value (240 bits) — "block.timestamp > when"."""
    return (TIMESTAMP_PARAM_ID << 248) | (OP_GT << 240) | when


def vote_grant_after(sender: Sender, dao: AragonDao, entity: str, when: int) -> TxReceipt:
    """APP_MANAGER_ROLE on the kernel granted to ``entity`` once ``when`` has passed: a passed vote on the ACL's
    ``grantPermissionP`` with one parameter (a conditional grant: `hasPermission` says no until then)."""
    acl, kernel = dao.app.acl, dao.app.kernel
    data = acl.encode_abi("grantPermissionP", args=[entity, kernel.address, APP_MANAGER_ROLE, [timestamp_after(when)]])
    return run_vote(sender, dao, calls_script((acl.address, bytes.fromhex(data[2:]))), f"grant {entity} after {when}")
