"""What the control reads call and scan, declared against the real interfaces (checked by ``tests/mainnet/``).

Every signature `proxy`, `admin`, `roles` and `profile` send is listed here once; the modules take their
signatures from these constants, so a call cannot drift from its declaration.
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.surface import ContractUse

PROXIABLE_UUID: Final = "proxiableUUID()(bytes32)"
#: A beacon's implementation, and a Compound CErc20Delegator's.
IMPLEMENTATION: Final = "implementation()(address)"
OWNER: Final = "owner()(address)"
ADMIN: Final = "admin()(address)"
#: Two-step handovers: the account nominated and not yet accepted (OpenZeppelin Ownable2Step's, as Compound V2's
#: price oracle; Compound's Unitroller, cTokens and Timelock's `pendingAdmin()`).
PENDING_OWNER: Final = "pendingOwner()(address)"
PENDING_ADMIN: Final = "pendingAdmin()(address)"
#: Curve's registries name their AddressProvider, whose `admin()` their admin-only functions check.
ADDRESS_PROVIDER_OF: Final = "address_provider()(address)"
#: Curve's owner proxies (the StableSwap Owner Proxy, the old stable factory's `admin()` on mainnet): the ownership
#: admin makes every admin call of what the proxy owns and replaces all three admins; the parameter admin ramps
#: the pools' A; the emergency admin stops a ramp and kills gauges (curvefi/curve-factory `contracts/OwnerProxy.vy`).
OWNERSHIP_ADMIN: Final = "ownership_admin()(address)"
PARAMETER_ADMIN: Final = "parameter_admin()(address)"
EMERGENCY_ADMIN: Final = "emergency_admin()(address)"
COMPTROLLER_IMPLEMENTATION: Final = "comptrollerImplementation()(address)"
MASTER_COPY: Final = "masterCopy()(address)"
#: ERC-897's proxy type (1 forwarding, 2 upgradeable); with `IMPLEMENTATION` it marks an ERC-897 proxy.
PROXY_TYPE: Final = "proxyType()(uint256)"
#: An Aragon app proxy's kernel (Lido's stETH), and the kernel's ACL that guards its setApp.
KERNEL: Final = "kernel()(address)"
ACL: Final = "acl()(address)"
#: Lido stETH's pause state (mainnet's Lido.sol): the protocol stopped (`stop()`), staking paused (`pauseStaking()`).
IS_STOPPED: Final = "isStopped()(bool)"
IS_STAKING_PAUSED: Final = "isStakingPaused()(bool)"
#: An Aragon app's id: with APP_BASES_NAMESPACE, the kernel's key of its code (SetApp's indexed appId).
APP_ID: Final = "appId()(bytes32)"
#: The kernel's own permission check, with the arguments its ``setApp`` passes (namespace, app id): exactly the
#: check an upgrade of one app meets, conditional permissions included.
KERNEL_HAS_PERMISSION: Final = "hasPermission(address,address,bytes32,bytes)(bool)"
#: Who may grant and revoke a role on an app in an Aragon ACL (0: nobody; 1: burned).
GET_PERMISSION_MANAGER: Final = "getPermissionManager(address,bytes32)(address)"
#: How many parameters an entity's grant of a role carries (0: unconditional, or no grant): aragonOS's
#: `grantPermissionP` conditions.
GET_PERMISSION_PARAMS_LENGTH: Final = "getPermissionParamsLength(address,address,bytes32)(uint256)"
#: An Aragon Agent (Lido's DAO Agent, the admin of its OssifiableProxies): a forwarder that makes any call for the
#: holders of EXECUTE_ROLE (SAFE_EXECUTE_ROLE: any but to its protected tokens) and runs the scripts of RUN_SCRIPT_ROLE.
IS_FORWARDER: Final = "isForwarder()(bool)"
EXECUTE_ROLE: Final = "EXECUTE_ROLE()(bytes32)"
SAFE_EXECUTE_ROLE: Final = "SAFE_EXECUTE_ROLE()(bytes32)"
RUN_SCRIPT_ROLE: Final = "RUN_SCRIPT_ROLE()(bytes32)"
#: An Aragon Voting (Lido's DAO Voting): seconds a vote is open, and its thresholds (of 10**18).
VOTE_TIME: Final = "voteTime()(uint64)"
SUPPORT_REQUIRED_PCT: Final = "supportRequiredPct()(uint64)"
MIN_ACCEPT_QUORUM_PCT: Final = "minAcceptQuorumPct()(uint64)"
GET_THRESHOLD: Final = "getThreshold()(uint256)"
GET_OWNERS: Final = "getOwners()(address[])"
GET_MIN_DELAY: Final = "getMinDelay()(uint256)"
PROPOSER_ROLE: Final = "PROPOSER_ROLE()(bytes32)"
HAS_ROLE: Final = "hasRole(bytes32,address)(bool)"
#: OpenZeppelin AccessControl's admin of every role (bytes32 zero): Lido's AccountingOracle's is the Agent.
DEFAULT_ADMIN_ROLE: Final = "DEFAULT_ADMIN_ROLE()(bytes32)"
DELAY: Final = "delay()(uint256)"
TOKEN: Final = "token()(address)"
COMP: Final = "comp()(address)"
VOTING_PERIOD: Final = "votingPeriod()(uint256)"
PAUSE_GUARDIAN: Final = "pauseGuardian()(address)"
#: The Comptroller's price oracle: a contract of the protocol (it sets every price liquidations run against).
PRICE_ORACLE: Final = "oracle()(address)"
GOVERNOR: Final = "governor()(address)"
#: A Uniswap V2 (and PancakeSwap V2) factory's one power: who may turn the protocol fee on (`setFeeTo`).
FEE_TO_SETTER: Final = "feeToSetter()(address)"
WARDS: Final = "wards(address)(uint256)"
#: ds-auth's authority (DSPause: who may plot besides its owner; mainnet's is the Chief).
AUTHORITY: Final = "authority()(address)"
#: DSChief: the MKR it locks (ds-chief's `GOV`) and the candidate with the most approval (`hat`).
CHIEF_GOV: Final = "GOV()(address)"
CHIEF_HAT: Final = "hat()(address)"
ADDRESSES_PROVIDER: Final = "ADDRESSES_PROVIDER()(address)"
GET_ACL_MANAGER: Final = "getACLManager()(address)"
EMERGENCY_ADMIN_ROLE: Final = "EMERGENCY_ADMIN_ROLE()(bytes32)"
POOL_ADMIN_ROLE: Final = "POOL_ADMIN_ROLE()(bytes32)"
#: Aave's AaveOracle is run by this role's holders and POOL_ADMIN_ROLE's (`onlyAssetListingOrPoolAdmins`).
ASSET_LISTING_ADMIN_ROLE: Final = "ASSET_LISTING_ADMIN_ROLE()(bytes32)"
#: Aave's PoolConfigurator answers its revision (a public constant) and nothing naming its provider, whose
#: `getPoolConfigurator()` confirms it (`control.aave`).
CONFIGURATOR_REVISION: Final = "CONFIGURATOR_REVISION()(uint256)"
GET_POOL_CONFIGURATOR: Final = "getPoolConfigurator()(address)"
#: Aave Governance V3: a PayloadsController runs what its governance (the message originator, on the origin
#: chain) queued, through each access level's executor after that executor's delay.
MESSAGE_ORIGINATOR: Final = "MESSAGE_ORIGINATOR()(address)"
ORIGIN_CHAIN_ID: Final = "ORIGIN_CHAIN_ID()(uint256)"
GET_EXECUTOR_SETTINGS: Final = "getExecutorSettingsByAccessControl(uint8)((address,uint40))"
#: Aave Governance V2's ExecutorWithTimelock (its admin: AaveGovernanceV2) and the governance itself.
GET_DELAY: Final = "getDelay()(uint256)"
GET_ADMIN: Final = "getAdmin()(address)"
GET_GOVERNANCE_STRATEGY: Final = "getGovernanceStrategy()(address)"
GET_VOTING_DELAY: Final = "getVotingDelay()(uint256)"
#: Aave Governance V3's GovernanceCore: votes weighed by its power strategy.
GET_POWER_STRATEGY: Final = "getPowerStrategy()(address)"
COOLDOWN_PERIOD: Final = "COOLDOWN_PERIOD()(uint256)"
#: EigenLayer's Pausable managers name their PauserRegistry (an immutable); the registry's pausers (a mapping, found
#: from PauserStatusChanged, which indexes nothing) and its one unpauser (`control.eigenlayer`).
PAUSER_REGISTRY: Final = "pauserRegistry()(address)"
IS_PAUSER: Final = "isPauser(address)(bool)"
UNPAUSER: Final = "unpauser()(address)"
PAUSER_STATUS_CHANGED: Final = "PauserStatusChanged(address,bool)"
UPGRADED: Final = "Upgraded(address)"
NEW_IMPLEMENTATION: Final = "NewImplementation(address,address)"
ROLE_GRANTED: Final = "RoleGranted(bytes32,address,address)"
ROLE_REVOKED: Final = "RoleRevoked(bytes32,address,address)"
RELY: Final = "Rely(address)"
#: An Aragon kernel's app changes (namespace "base": an app's code, i.e. its upgrades).
SET_APP: Final = "SetApp(bytes32,bytes32,address)"
SET_PERMISSION: Final = "SetPermission(address,address,bytes32,bool)"
CHANGE_PERMISSION_MANAGER: Final = "ChangePermissionManager(address,bytes32,address)"

CONTROL_SURFACE: Final = (
    ContractUse("EIP-1967 proxy", "openzeppelin/IERC1967", events=(UPGRADED,)),
    ContractUse("UUPS implementation", "openzeppelin/UUPSUpgradeable", calls=(PROXIABLE_UUID,)),
    ContractUse("beacon", "openzeppelin/UpgradeableBeacon", calls=(IMPLEMENTATION, OWNER)),
    ContractUse("Ownable admin", "openzeppelin/Ownable", calls=(OWNER,)),
    ContractUse("Ownable2Step nominee", "openzeppelin/Ownable2Step", calls=(OWNER, PENDING_OWNER)),
    ContractUse(
        "Compound Unitroller",
        "compound/Comptroller",
        calls=(COMPTROLLER_IMPLEMENTATION, ADMIN, PENDING_ADMIN, PAUSE_GUARDIAN, PRICE_ORACLE),
        events=(NEW_IMPLEMENTATION,),
    ),
    ContractUse(
        "Compound CErc20Delegator",
        "compound/CErc20Delegator",
        calls=(IMPLEMENTATION, ADMIN, PENDING_ADMIN),
        events=(NEW_IMPLEMENTATION,),
    ),
    ContractUse("Safe proxy", "safe/GnosisSafeProxy", calls=(MASTER_COPY,)),
    ContractUse(
        "Aragon AppProxyUpgradeable (ERC-897)",
        "aragon/AppProxyUpgradeable",
        calls=(PROXY_TYPE, IMPLEMENTATION, KERNEL, APP_ID),
    ),
    ContractUse("Lido stETH pause powers", "lido/StETH", calls=(KERNEL, IS_STOPPED, IS_STAKING_PAUSED)),
    ContractUse("Aragon Kernel", "aragon/Kernel", calls=(ACL, KERNEL_HAS_PERMISSION), events=(SET_APP,)),
    ContractUse(
        "Aragon KernelProxy (ERC-897)", "aragon/KernelProxy", calls=(PROXY_TYPE, IMPLEMENTATION), events=(SET_APP,)
    ),
    ContractUse(
        "Aragon ACL",
        "aragon/ACL",
        calls=(GET_PERMISSION_MANAGER, GET_PERMISSION_PARAMS_LENGTH),
        events=(SET_PERMISSION, CHANGE_PERMISSION_MANAGER),
    ),
    ContractUse(
        "Aragon Agent",
        "aragon/Agent",
        calls=(IS_FORWARDER, EXECUTE_ROLE, SAFE_EXECUTE_ROLE, RUN_SCRIPT_ROLE, KERNEL, APP_ID),
    ),
    ContractUse(
        "Aragon Voting", "aragon/Voting", calls=(TOKEN, VOTE_TIME, SUPPORT_REQUIRED_PCT, MIN_ACCEPT_QUORUM_PCT)
    ),
    ContractUse("Safe", "safe/GnosisSafe", calls=(GET_THRESHOLD, GET_OWNERS)),
    ContractUse(
        "TimelockController",
        "openzeppelin/TimelockController",
        calls=(GET_MIN_DELAY, PROPOSER_ROLE, HAS_ROLE),
        events=(ROLE_GRANTED, ROLE_REVOKED),
    ),
    ContractUse("Compound Timelock", "openzeppelin/ICompoundTimelock", calls=(DELAY, ADMIN, PENDING_ADMIN)),
    ContractUse("Governor", "openzeppelin/GovernorVotes", calls=(TOKEN, VOTING_PERIOD)),
    ContractUse("GovernorBravo", "compound/GovernorBravo", calls=(COMP, VOTING_PERIOD)),
    ContractUse("Comet", "compound/Comet", calls=(PAUSE_GUARDIAN, GOVERNOR)),
    ContractUse("V2 factory fee switch", "uniswap/UniswapV2Factory", calls=(FEE_TO_SETTER,)),
    ContractUse("Aave Pool", "aave/IPool", calls=(ADDRESSES_PROVIDER,)),
    ContractUse(
        "Aave PoolAddressesProvider", "aave/IPoolAddressesProvider", calls=(GET_ACL_MANAGER, GET_POOL_CONFIGURATOR)
    ),
    ContractUse("Aave PoolConfigurator", "aave/PoolConfigurator", calls=(CONFIGURATOR_REVISION,)),
    ContractUse(
        "Aave ACLManager", "aave/IACLManager", calls=(EMERGENCY_ADMIN_ROLE, POOL_ADMIN_ROLE, ASSET_LISTING_ADMIN_ROLE)
    ),
    ContractUse("AaveOracle's market", "aave/IAaveOracle", calls=(ADDRESSES_PROVIDER,)),
    ContractUse("Curve registry's AddressProvider", "curve/MainRegistry", calls=(ADDRESS_PROVIDER_OF,)),
    ContractUse("Curve AddressProvider admin", "curve/AddressProvider", calls=(ADMIN,)),
    ContractUse(
        "Curve StableSwap Owner Proxy",
        "curve/StableSwapOwnerProxy",
        calls=(OWNERSHIP_ADMIN, PARAMETER_ADMIN, EMERGENCY_ADMIN),
    ),
    ContractUse(
        "Lido AccountingOracle roles",
        "lido/AccountingOracle",
        calls=(DEFAULT_ADMIN_ROLE, HAS_ROLE),
        events=(ROLE_GRANTED, ROLE_REVOKED),
    ),
    ContractUse(
        "Aave PayloadsController",
        "aave/PayloadsController",
        calls=(MESSAGE_ORIGINATOR, ORIGIN_CHAIN_ID, GET_EXECUTOR_SETTINGS),
    ),
    ContractUse("Aave GovernanceCore", "aave/IGovernanceCore", calls=(GET_POWER_STRATEGY, COOLDOWN_PERIOD)),
    ContractUse("Aave ExecutorWithTimelock (V2)", "aave/Executor", calls=(GET_DELAY, GET_ADMIN)),
    ContractUse("AaveGovernanceV2", "aave/AaveGovernanceV2", calls=(GET_GOVERNANCE_STRATEGY, GET_VOTING_DELAY)),
    ContractUse(
        "Aave ACLManager roles", "openzeppelin/AccessControl", calls=(HAS_ROLE,), events=(ROLE_GRANTED, ROLE_REVOKED)
    ),
    ContractUse("dss Vat", "maker/VatAbstract", calls=(WARDS,), notes=("rely(address)",)),
    ContractUse("dss auth with events", "maker/Dog", calls=(WARDS,), events=(RELY,)),
    ContractUse("dss join", "maker/GemJoinAbstract", calls=(WARDS,)),
    ContractUse("DSPause", "maker/DSPause", calls=(DELAY, AUTHORITY, OWNER)),
    ContractUse("DSChief", "maker/DSChief", calls=(CHIEF_GOV, CHIEF_HAT)),
    ContractUse("EigenLayer StrategyManager's pausing", "eigenlayer/StrategyManager", calls=(PAUSER_REGISTRY,)),
    ContractUse("EigenLayer DelegationManager's pausing", "eigenlayer/DelegationManager", calls=(PAUSER_REGISTRY,)),
    ContractUse("EigenLayer EigenPodManager's pausing", "eigenlayer/EigenPodManager", calls=(PAUSER_REGISTRY,)),
    ContractUse(
        "EigenLayer PauserRegistry",
        "eigenlayer/PauserRegistry",
        calls=(IS_PAUSER, UNPAUSER),
        events=(PAUSER_STATUS_CHANGED,),
    ),
)
