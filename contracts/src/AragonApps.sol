// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @notice A minimal replica of aragonOS 4 as Lido's DAO runs it on mainnet: the Lido app (stETH) behind an
///         AppProxyUpgradeable that delegates to `kernel.getApp(APP_BASES_NAMESPACE, appId)`; the kernel (a
///         KernelProxy: its own code is its core app) and its `setApp`
///         changes that base when its ACL grants the caller APP_MANAGER_ROLE (with the namespace and app id as the
///         permission's arguments, as aragonOS's `auth` passes them); the Voting holds that role and acts through
///         its votes' EVM scripts; the LDO token is a MiniMe (balances at past blocks). Same selectors, events,
///         constants, error strings and storage positions as `@aragon/os@4.4.0` and `@aragon/apps-voting@2.1.0`
///         (npm); Lido's DAO Agent (the admin of Lido's OssifiableProxies) is `@aragon/apps-agent@2.1.0`'s Agent.
///         Permission parameters (`grantPermissionP`) are kept and evaluated as aragonOS 4.4.0's ACL does. Left
///         out: the EVM script registry (apps run CallsScript's spec 1 themselves), recovery vaults, the Agent's Vault
///         transfers, protected tokens and signatures.

/// @dev aragonOS's AppStorage: an app's kernel and id at unstructured positions, so its own storage starts at 0.
abstract contract AppStorage {
    bytes32 internal constant KERNEL_POSITION = keccak256("aragonOS.appStorage.kernel");
    bytes32 internal constant APP_ID_POSITION = keccak256("aragonOS.appStorage.appId");

    function kernel() public view returns (AragonKernel found) {
        bytes32 position = KERNEL_POSITION;
        assembly {
            found := sload(position)
        }
    }

    function appId() public view returns (bytes32 found) {
        bytes32 position = APP_ID_POSITION;
        assembly {
            found := sload(position)
        }
    }

    function _setKernelAndAppId(AragonKernel kernel_, bytes32 appId_) internal {
        bytes32 kernelPosition = KERNEL_POSITION;
        bytes32 appIdPosition = APP_ID_POSITION;
        assembly {
            sstore(kernelPosition, kernel_)
            sstore(appIdPosition, appId_)
        }
    }
}

/// @dev aragonOS's EVMScriptRunner reduced to CallsScript (spec 1), the only script kind apps run here.
abstract contract CallsScriptRunner {
    uint32 internal constant CALLS_SCRIPT_SPEC_ID = 1;

    /// @dev aragonOS's CallsScript: spec id (4 bytes) then, per call, target (20 bytes), calldata length (4 bytes)
    ///      and calldata; each call made by this app, the first revert reverting all.
    function _runCallsScript(bytes memory script) internal {
        require(script.length >= 4 && uint32(bytes4(script)) == CALLS_SCRIPT_SPEC_ID, "EVMRUN_EXECUTOR_UNAVAILABLE");
        uint256 location = 4;
        while (location < script.length) {
            require(script.length - location >= 0x18, "EVMCALLS_INVALID_LENGTH");
            address target;
            uint256 length;
            assembly {
                let at := add(add(script, 0x20), location)
                target := shr(96, mload(at))
                length := shr(224, mload(add(at, 0x14)))
            }
            uint256 start = location + 0x18;
            location = start + length;
            require(location <= script.length, "EVMCALLS_INVALID_LENGTH");
            bool ok;
            assembly {
                ok := call(gas(), target, 0, add(add(script, 0x20), start), length, 0, 0)
            }
            require(ok, "EVMCALLS_CALL_REVERTED");
        }
    }
}

contract AragonACL {
    // keccak256("CREATE_PERMISSIONS_ROLE"), keccak256(uint256(0)): aragonOS hard-codes both.
    bytes32 public constant CREATE_PERMISSIONS_ROLE = 0x0b719b33c83b8e5d300c521cb8b54ae9bd933996a14bef8c2f4e0285d2d2400a;
    bytes32 public constant EMPTY_PARAM_HASH = 0x290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563;
    bytes32 public constant NO_PERMISSION = bytes32(0);
    address public constant ANY_ENTITY = address(type(uint160).max);
    address public constant BURN_ENTITY = address(1);

    // aragonOS's ACLParams: a condition is a list of params, the first evaluated (logic ops point at others).
    enum Op { NONE, EQ, NEQ, GT, LT, GTE, LTE, RET, NOT, AND, OR, XOR, IF_ELSE }

    struct Param {
        uint8 id;
        uint8 op;
        uint240 value;
    }

    uint8 internal constant BLOCK_NUMBER_PARAM_ID = 200;
    uint8 internal constant TIMESTAMP_PARAM_ID = 201;
    uint8 internal constant ORACLE_PARAM_ID = 203;
    uint8 internal constant LOGIC_OP_PARAM_ID = 204;
    uint8 internal constant PARAM_VALUE_PARAM_ID = 205;
    uint256 internal constant ORACLE_CHECK_GAS = 30000;

    mapping(bytes32 => bytes32) internal permissions; // permission hash => params hash
    mapping(bytes32 => Param[]) internal permissionParams; // params hash => params
    mapping(bytes32 => address) internal permissionManager;

    event SetPermission(address indexed entity, address indexed app, bytes32 indexed role, bool allowed);
    event SetPermissionParams(address indexed entity, address indexed app, bytes32 indexed role, bytes32 paramsHash);
    event ChangePermissionManager(address indexed app, bytes32 indexed role, address indexed manager);

    modifier auth(bytes32 role) {
        // The ACL is an app of its kernel: its auth asks the ACL itself, as the kernel would.
        require(hasPermission(msg.sender, address(this), role), "APP_AUTH_FAILED");
        _;
    }

    modifier onlyPermissionManager(address app, bytes32 role) {
        require(msg.sender == getPermissionManager(app, role), "ACL_AUTH_NO_MANAGER");
        _;
    }

    modifier noPermissionManager(address app, bytes32 role) {
        require(getPermissionManager(app, role) == address(0), "ACL_EXISTENT_MANAGER");
        _;
    }

    /// @dev aragonOS: `initialize(_permissionsCreator)`, called by the kernel that creates the ACL.
    constructor(address permissionsCreator) {
        _createPermission(permissionsCreator, address(this), CREATE_PERMISSIONS_ROLE, permissionsCreator);
    }

    function createPermission(address entity, address app, bytes32 role, address manager)
        external
        auth(CREATE_PERMISSIONS_ROLE)
        noPermissionManager(app, role)
    {
        _createPermission(entity, app, role, manager);
    }

    function grantPermission(address entity, address app, bytes32 role) external {
        grantPermissionP(entity, app, role, new uint256[](0));
    }

    /// @dev aragonOS: each param is id (8 bits) | op (8 bits) | value (240 bits); stored once per params hash.
    function grantPermissionP(address entity, address app, bytes32 role, uint256[] memory params)
        public
        onlyPermissionManager(app, role)
    {
        bytes32 paramsHash = params.length > 0 ? _saveParams(params) : EMPTY_PARAM_HASH;
        _setPermission(entity, app, role, paramsHash);
    }

    function revokePermission(address entity, address app, bytes32 role) external onlyPermissionManager(app, role) {
        _setPermission(entity, app, role, NO_PERMISSION);
    }

    function setPermissionManager(address newManager, address app, bytes32 role)
        external
        onlyPermissionManager(app, role)
    {
        _setPermissionManager(newManager, app, role);
    }

    function removePermissionManager(address app, bytes32 role) external onlyPermissionManager(app, role) {
        _setPermissionManager(address(0), app, role);
    }

    function getPermissionManager(address app, bytes32 role) public view returns (address) {
        return permissionManager[roleHash(app, role)];
    }

    function getPermissionParamsLength(address entity, address app, bytes32 role) external view returns (uint256) {
        return permissionParams[permissions[permissionHash(entity, app, role)]].length;
    }

    function getPermissionParam(address entity, address app, bytes32 role, uint256 index)
        external
        view
        returns (uint8, uint8, uint240)
    {
        Param storage param = permissionParams[permissions[permissionHash(entity, app, role)]][index];
        return (param.id, param.op, param.value);
    }

    /// @dev aragonOS casts the bytes to uint256[] in place (whole words only); copied here.
    function hasPermission(address who, address where, bytes32 what, bytes memory how) public view returns (bool) {
        uint256[] memory words = new uint256[](how.length / 32);
        for (uint256 i = 0; i < words.length; i++) {
            words[i] = uint256(bytes32(_slice32(how, i * 32)));
        }
        return hasPermission(who, where, what, words);
    }

    function hasPermission(address who, address where, bytes32 what, uint256[] memory how)
        public
        view
        returns (bool)
    {
        bytes32 whoParams = permissions[permissionHash(who, where, what)];
        if (whoParams != NO_PERMISSION && evalParams(whoParams, who, where, what, how)) {
            return true;
        }
        bytes32 anyParams = permissions[permissionHash(ANY_ENTITY, where, what)];
        return anyParams != NO_PERMISSION && evalParams(anyParams, ANY_ENTITY, where, what, how);
    }

    function hasPermission(address who, address where, bytes32 what) public view returns (bool) {
        return hasPermission(who, where, what, new uint256[](0));
    }

    function evalParams(bytes32 paramsHash, address who, address where, bytes32 what, uint256[] memory how)
        public
        view
        returns (bool)
    {
        if (paramsHash == EMPTY_PARAM_HASH) {
            return true;
        }
        return _evalParam(paramsHash, 0, who, where, what, how);
    }

    function _createPermission(address entity, address app, bytes32 role, address manager) internal {
        _setPermission(entity, app, role, EMPTY_PARAM_HASH);
        _setPermissionManager(manager, app, role);
    }

    function _setPermission(address entity, address app, bytes32 role, bytes32 paramsHash) internal {
        permissions[permissionHash(entity, app, role)] = paramsHash;
        bool entityHasPermission = paramsHash != NO_PERMISSION;
        emit SetPermission(entity, app, role, entityHasPermission);
        if (entityHasPermission && paramsHash != EMPTY_PARAM_HASH) {
            emit SetPermissionParams(entity, app, role, paramsHash);
        }
    }

    function _saveParams(uint256[] memory encodedParams) internal returns (bytes32) {
        bytes32 paramHash = keccak256(abi.encodePacked(encodedParams));
        Param[] storage params = permissionParams[paramHash];
        if (params.length == 0) {
            for (uint256 i = 0; i < encodedParams.length; i++) {
                uint256 encoded = encodedParams[i];
                params.push(Param(uint8(encoded >> (8 * 31)), uint8(encoded >> (8 * 30)), uint240(encoded)));
            }
        }
        return paramHash;
    }

    function _evalParam(bytes32 paramsHash, uint32 paramId, address who, address where, bytes32 what, uint256[] memory how)
        internal
        view
        returns (bool)
    {
        if (paramId >= permissionParams[paramsHash].length) {
            return false; // out of bounds
        }
        Param memory param = permissionParams[paramsHash][paramId];
        if (param.id == LOGIC_OP_PARAM_ID) {
            return _evalLogic(param, paramsHash, who, where, what, how);
        }
        uint256 value;
        uint256 comparedTo = uint256(param.value);
        if (param.id == ORACLE_PARAM_ID) {
            value = _checkOracle(address(uint160(param.value)), who, where, what, how) ? 1 : 0;
            comparedTo = 1;
        } else if (param.id == BLOCK_NUMBER_PARAM_ID) {
            value = block.number;
        } else if (param.id == TIMESTAMP_PARAM_ID) {
            value = uint64(block.timestamp);
        } else if (param.id == PARAM_VALUE_PARAM_ID) {
            value = uint256(param.value);
        } else {
            if (param.id >= how.length) {
                return false;
            }
            value = uint256(uint240(how[param.id])); // aragonOS keeps 240 bits
        }
        if (Op(param.op) == Op.RET) {
            return value > 0;
        }
        return _compare(value, Op(param.op), comparedTo);
    }

    function _evalLogic(Param memory param, bytes32 paramsHash, address who, address where, bytes32 what, uint256[] memory how)
        internal
        view
        returns (bool)
    {
        (uint32 first, uint32 second, uint32 third) = _decodeParamsList(uint256(param.value));
        if (Op(param.op) == Op.IF_ELSE) {
            bool condition = _evalParam(paramsHash, first, who, where, what, how);
            return _evalParam(paramsHash, condition ? second : third, who, where, what, how);
        }
        bool r1 = _evalParam(paramsHash, first, who, where, what, how);
        if (Op(param.op) == Op.NOT) {
            return !r1;
        }
        if (r1 && Op(param.op) == Op.OR) {
            return true;
        }
        if (!r1 && Op(param.op) == Op.AND) {
            return false;
        }
        bool r2 = _evalParam(paramsHash, second, who, where, what, how);
        if (Op(param.op) == Op.XOR) {
            return r1 != r2;
        }
        return r2; // AND and OR both rest on r2 after the checks above
    }

    function _compare(uint256 a, Op op, uint256 b) internal pure returns (bool) {
        if (op == Op.EQ) return a == b;
        if (op == Op.NEQ) return a != b;
        if (op == Op.GT) return a > b;
        if (op == Op.LT) return a < b;
        if (op == Op.GTE) return a >= b;
        if (op == Op.LTE) return a <= b;
        return false;
    }

    /// @dev aragonOS: IACLOracle.canPerform(who, where, what, how) by staticcall with 30,000 gas; a revert or an
    ///      answer that is not one word is false.
    function _checkOracle(address oracle, address who, address where, bytes32 what, uint256[] memory how)
        internal
        view
        returns (bool)
    {
        bytes memory data = abi.encodeWithSelector(
            bytes4(keccak256("canPerform(address,address,bytes32,uint256[])")), who, where, what, how
        );
        (bool ok, bytes memory answer) = oracle.staticcall{gas: ORACLE_CHECK_GAS}(data);
        if (!ok || answer.length != 32) {
            return false;
        }
        return abi.decode(answer, (uint256)) != 0; // aragonOS reads the word: any non-zero is true
    }

    function _decodeParamsList(uint256 x) internal pure returns (uint32, uint32, uint32) {
        return (uint32(x), uint32(x >> (8 * 4)), uint32(x >> (8 * 8)));
    }

    function _slice32(bytes memory data, uint256 at) internal pure returns (bytes32 word) {
        assembly {
            word := mload(add(add(data, 0x20), at))
        }
    }

    function _setPermissionManager(address newManager, address app, bytes32 role) internal {
        permissionManager[roleHash(app, role)] = newManager;
        emit ChangePermissionManager(app, role, newManager);
    }

    function roleHash(address where, bytes32 what) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("ROLE", where, what));
    }

    function permissionHash(address who, address where, bytes32 what) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("PERMISSION", who, where, what));
    }
}

/// @dev aragonOS's KernelConstants: namespaces and the ids of the kernel's own apps (hard-coded there too).
abstract contract KernelConstants {
    bytes32 internal constant KERNEL_CORE_NAMESPACE = keccak256("core");
    // apmNamehash("kernel"), hard-coded by aragonOS.
    bytes32 internal constant KERNEL_CORE_APP_ID = 0x3b4bf6bf3ad5000ecf0f989d5befde585c6860fea3e574a4fab4c49d1c177d9c;
}

/// @notice aragonOS's KernelProxy (Lido's DAO kernel on mainnet is one): its code is the kernel app of the core
///         namespace in its own registry, so the kernel's `setApp(CORE_NAMESPACE, KERNEL_APP_ID, base)`, under
///         APP_MANAGER_ROLE as any app's, upgrades the kernel itself. Storage as aragonOS's KernelStorage.
contract KernelProxy is KernelConstants {
    // ERC-897: the implementation can change.
    uint256 internal constant UPGRADEABLE = 2;

    mapping(bytes32 => mapping(bytes32 => address)) public apps;
    bytes32 public recoveryVaultAppId;

    event SetApp(bytes32 indexed namespace, bytes32 indexed appId, address app);

    constructor(address kernelImpl) {
        require(kernelImpl.code.length > 0);
        apps[KERNEL_CORE_NAMESPACE][KERNEL_CORE_APP_ID] = kernelImpl;
        emit SetApp(KERNEL_CORE_NAMESPACE, KERNEL_CORE_APP_ID, kernelImpl);
    }

    function proxyType() public pure returns (uint256) {
        return UPGRADEABLE;
    }

    function implementation() public view returns (address) {
        return apps[KERNEL_CORE_NAMESPACE][KERNEL_CORE_APP_ID];
    }

    fallback() external payable {
        address target = implementation();
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    receive() external payable {}
}

/// @notice The kernel's code, run behind a `KernelProxy` (its storage, `apps` first, is the proxy's).
contract AragonKernel is KernelConstants {
    bytes32 public constant APP_MANAGER_ROLE = keccak256("APP_MANAGER_ROLE");
    bytes32 internal constant KERNEL_APP_BASES_NAMESPACE = keccak256("base");
    bytes32 internal constant KERNEL_APP_ADDR_NAMESPACE = keccak256("app");
    // apmNamehash("acl"), hard-coded by aragonOS.
    bytes32 internal constant KERNEL_DEFAULT_ACL_APP_ID = 0xe3262375f45a6e2026b7e7b18c2b807434f2508fe1a2a3dfb493c7df8f4aad6a;

    event SetApp(bytes32 indexed namespace, bytes32 indexed appId, address app);

    mapping(bytes32 => mapping(bytes32 => address)) public apps;
    bytes32 public recoveryVaultAppId;

    /// @dev aragonOS's `initialize(_baseAcl, _permissionsCreator)` creates the ACL as an app proxy of `_baseAcl`
    ///      initialized for `_permissionsCreator`; here `_baseAcl` is the ACL itself, deployed already created for
    ///      its permissions creator (its constructor), and becomes the kernel's ACL app.
    function initialize(AragonACL _baseAcl, address) external {
        require(address(acl()) == address(0), "INIT_ALREADY_INITIALIZED");
        _setApp(KERNEL_APP_ADDR_NAMESPACE, KERNEL_DEFAULT_ACL_APP_ID, address(_baseAcl));
    }

    /// @dev aragonOS's `auth(APP_MANAGER_ROLE, arr(_namespace, _appId))`: the role may be limited to some apps.
    function setApp(bytes32 namespace, bytes32 appId, address app) public {
        require(
            hasPermission(msg.sender, address(this), APP_MANAGER_ROLE, abi.encodePacked(namespace, appId)),
            "KERNEL_AUTH_FAILED"
        );
        _setApp(namespace, appId, app);
    }

    function CORE_NAMESPACE() external pure returns (bytes32) {
        return KERNEL_CORE_NAMESPACE;
    }

    function KERNEL_APP_ID() external pure returns (bytes32) {
        return KERNEL_CORE_APP_ID;
    }

    function APP_BASES_NAMESPACE() external pure returns (bytes32) {
        return KERNEL_APP_BASES_NAMESPACE;
    }

    function APP_ADDR_NAMESPACE() external pure returns (bytes32) {
        return KERNEL_APP_ADDR_NAMESPACE;
    }

    function DEFAULT_ACL_APP_ID() external pure returns (bytes32) {
        return KERNEL_DEFAULT_ACL_APP_ID;
    }

    function getApp(bytes32 namespace, bytes32 appId) public view returns (address) {
        return apps[namespace][appId];
    }

    function acl() public view returns (AragonACL) {
        return AragonACL(getApp(KERNEL_APP_ADDR_NAMESPACE, KERNEL_DEFAULT_ACL_APP_ID));
    }

    function hasPermission(address who, address where, bytes32 what, bytes memory how) public view returns (bool) {
        AragonACL defaultAcl = acl();
        return address(defaultAcl) != address(0) && defaultAcl.hasPermission(who, where, what, how);
    }

    function _setApp(bytes32 namespace, bytes32 appId, address app) internal {
        require(app.code.length > 0, "KERNEL_APP_NOT_CONTRACT");
        apps[namespace][appId] = app;
        emit SetApp(namespace, appId, app);
    }
}

contract AppProxyUpgradeable is AppStorage {
    bytes32 internal constant APP_BASES_NAMESPACE = keccak256("base");
    // ERC-897: the implementation can change.
    uint256 internal constant UPGRADEABLE = 2;

    constructor(AragonKernel kernel_, bytes32 appId_, bytes memory initializePayload) payable {
        _setKernelAndAppId(kernel_, appId_);
        if (initializePayload.length > 0) {
            (bool ok,) = implementation().delegatecall(initializePayload);
            require(ok, "APP_PROXY_INIT_FAILED");
        }
    }

    function implementation() public view returns (address) {
        return kernel().getApp(APP_BASES_NAMESPACE, appId());
    }

    function proxyType() public pure returns (uint256) {
        return UPGRADEABLE;
    }

    fallback() external payable {
        address target = implementation();
        require(target != address(0), "APP_PROXY_NO_CODE");
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}

/// @notice A MiniMe token (LDO on mainnet): an ERC-20 whose balances and supply are kept at every block they changed,
///         so a vote counts the balances of its snapshot block. Its controller (mainnet: the Token Manager) mints.
contract MiniMeToken is ERC20 {
    using Checkpoints for Checkpoints.Trace208;

    address public controller;
    mapping(address => Checkpoints.Trace208) private balanceHistory;
    Checkpoints.Trace208 private supplyHistory;

    constructor(string memory name_, string memory symbol_, address controller_) ERC20(name_, symbol_) {
        controller = controller_;
    }

    function generateTokens(address owner, uint256 amount) external returns (bool) {
        require(msg.sender == controller);
        _mint(owner, amount);
        return true;
    }

    function balanceOfAt(address owner, uint256 blockNumber) external view returns (uint256) {
        return balanceHistory[owner].upperLookupRecent(uint48(blockNumber));
    }

    function totalSupplyAt(uint256 blockNumber) external view returns (uint256) {
        return supplyHistory.upperLookupRecent(uint48(blockNumber));
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        uint48 at = uint48(block.number);
        if (from != address(0)) balanceHistory[from].push(at, uint208(balanceOf(from)));
        if (to != address(0)) balanceHistory[to].push(at, uint208(balanceOf(to)));
        if (from == address(0) || to == address(0)) supplyHistory.push(at, uint208(totalSupply()));
    }
}

/// @notice Aragon's Voting app (Lido's DAO Voting on mainnet, which holds the kernel's APP_MANAGER_ROLE): a vote
///         on an EVM script passes with more than `supportRequiredPct` of the votes cast and more than
///         `minAcceptQuorumPct` of the token's supply at the vote's snapshot block voting yes, after `voteTime`
///         seconds (or at once when yes already exceeds the support required of the whole supply); its script's
///         calls are then made by the Voting itself.
contract AragonVoting is AppStorage, CallsScriptRunner {
    bytes32 public constant CREATE_VOTES_ROLE = keccak256("CREATE_VOTES_ROLE");
    uint64 public constant PCT_BASE = 10 ** 18;

    enum VoterState {
        Absent,
        Yea,
        Nay
    }

    struct Vote {
        bool executed;
        uint64 startDate;
        uint64 snapshotBlock;
        uint64 supportRequiredPct;
        uint64 minAcceptQuorumPct;
        uint256 yea;
        uint256 nay;
        uint256 votingPower;
        bytes executionScript;
        mapping(address => VoterState) voters;
    }

    MiniMeToken public token;
    uint64 public supportRequiredPct;
    uint64 public minAcceptQuorumPct;
    uint64 public voteTime;
    mapping(uint256 => Vote) internal votes;
    uint256 public votesLength;

    event StartVote(uint256 indexed voteId, address indexed creator, string metadata);
    event CastVote(uint256 indexed voteId, address indexed voter, bool supports_, uint256 stake);
    event ExecuteVote(uint256 indexed voteId);

    modifier auth(bytes32 role) {
        require(kernel().hasPermission(msg.sender, address(this), role, new bytes(0)), "APP_AUTH_FAILED");
        _;
    }

    modifier voteExists(uint256 voteId) {
        require(voteId < votesLength, "VOTING_NO_VOTE");
        _;
    }

    function initialize(MiniMeToken token_, uint64 supportRequiredPct_, uint64 minAcceptQuorumPct_, uint64 voteTime_)
        external
    {
        require(address(token) == address(0), "INIT_ALREADY_INITIALIZED");
        require(minAcceptQuorumPct_ <= supportRequiredPct_, "VOTING_INIT_PCTS");
        require(supportRequiredPct_ < PCT_BASE, "VOTING_INIT_SUPPORT_TOO_BIG");
        token = token_;
        supportRequiredPct = supportRequiredPct_;
        minAcceptQuorumPct = minAcceptQuorumPct_;
        voteTime = voteTime_;
    }

    function newVote(bytes calldata executionScript, string calldata metadata)
        external
        auth(CREATE_VOTES_ROLE)
        returns (uint256 voteId)
    {
        return _newVote(executionScript, metadata, true, true);
    }

    function newVote(bytes calldata executionScript, string calldata metadata, bool castVote, bool executesIfDecided)
        external
        auth(CREATE_VOTES_ROLE)
        returns (uint256 voteId)
    {
        return _newVote(executionScript, metadata, castVote, executesIfDecided);
    }

    function vote(uint256 voteId, bool inSupport, bool executesIfDecided) external voteExists(voteId) {
        require(_canVote(voteId, msg.sender), "VOTING_CAN_NOT_VOTE");
        _vote(voteId, inSupport, msg.sender, executesIfDecided);
    }

    function executeVote(uint256 voteId) external voteExists(voteId) {
        require(_canExecute(voteId), "VOTING_CAN_NOT_EXECUTE");
        _unsafeExecuteVote(voteId);
    }

    function canExecute(uint256 voteId) public view voteExists(voteId) returns (bool) {
        return _canExecute(voteId);
    }

    function canVote(uint256 voteId, address voter) public view voteExists(voteId) returns (bool) {
        return _canVote(voteId, voter);
    }

    function getVote(uint256 voteId)
        public
        view
        voteExists(voteId)
        returns (
            bool open,
            bool executed,
            uint64 startDate,
            uint64 snapshotBlock,
            uint64 supportRequired,
            uint64 minAcceptQuorum,
            uint256 yea,
            uint256 nay,
            uint256 votingPower,
            bytes memory script
        )
    {
        Vote storage vote_ = votes[voteId];
        return (
            _isVoteOpen(vote_),
            vote_.executed,
            vote_.startDate,
            vote_.snapshotBlock,
            vote_.supportRequiredPct,
            vote_.minAcceptQuorumPct,
            vote_.yea,
            vote_.nay,
            vote_.votingPower,
            vote_.executionScript
        );
    }

    function _newVote(bytes memory executionScript, string memory metadata, bool castVote, bool executesIfDecided)
        internal
        returns (uint256 voteId)
    {
        uint64 snapshotBlock = uint64(block.number) - 1; // avoid double voting in this very block
        uint256 votingPower = token.totalSupplyAt(snapshotBlock);
        require(votingPower > 0, "VOTING_NO_VOTING_POWER");
        voteId = votesLength++;
        Vote storage vote_ = votes[voteId];
        vote_.startDate = uint64(block.timestamp);
        vote_.snapshotBlock = snapshotBlock;
        vote_.supportRequiredPct = supportRequiredPct;
        vote_.minAcceptQuorumPct = minAcceptQuorumPct;
        vote_.votingPower = votingPower;
        vote_.executionScript = executionScript;
        emit StartVote(voteId, msg.sender, metadata);
        if (castVote && _canVote(voteId, msg.sender)) {
            _vote(voteId, true, msg.sender, executesIfDecided);
        }
    }

    function _vote(uint256 voteId, bool inSupport, address voter, bool executesIfDecided) internal {
        Vote storage vote_ = votes[voteId];
        uint256 stake = token.balanceOfAt(voter, vote_.snapshotBlock);
        VoterState state = vote_.voters[voter];
        if (state == VoterState.Yea) vote_.yea -= stake;
        else if (state == VoterState.Nay) vote_.nay -= stake;
        if (inSupport) vote_.yea += stake;
        else vote_.nay += stake;
        vote_.voters[voter] = inSupport ? VoterState.Yea : VoterState.Nay;
        emit CastVote(voteId, voter, inSupport, stake);
        if (executesIfDecided && _canExecute(voteId)) {
            _unsafeExecuteVote(voteId);
        }
    }

    function _unsafeExecuteVote(uint256 voteId) internal {
        Vote storage vote_ = votes[voteId];
        vote_.executed = true;
        _runCallsScript(vote_.executionScript);
        emit ExecuteVote(voteId);
    }

    function _canExecute(uint256 voteId) internal view returns (bool) {
        Vote storage vote_ = votes[voteId];
        if (vote_.executed) return false;
        if (_isValuePct(vote_.yea, vote_.votingPower, vote_.supportRequiredPct)) return true; // decided already
        if (_isVoteOpen(vote_)) return false;
        if (!_isValuePct(vote_.yea, vote_.yea + vote_.nay, vote_.supportRequiredPct)) return false;
        return _isValuePct(vote_.yea, vote_.votingPower, vote_.minAcceptQuorumPct);
    }

    function _canVote(uint256 voteId, address voter) internal view returns (bool) {
        Vote storage vote_ = votes[voteId];
        return _isVoteOpen(vote_) && token.balanceOfAt(voter, vote_.snapshotBlock) > 0;
    }

    function _isVoteOpen(Vote storage vote_) internal view returns (bool) {
        return block.timestamp < vote_.startDate + voteTime && !vote_.executed;
    }

    function _isValuePct(uint256 value, uint256 total, uint256 pct) internal pure returns (bool) {
        if (total == 0) return false;
        return value * PCT_BASE / total > pct;
    }

}

/// @notice Aragon's Agent app (Lido's DAO Agent on mainnet, the admin of Lido's OssifiableProxies and its treasury):
///         it makes any call for the holders of EXECUTE_ROLE (`execute`) and runs the EVM scripts of the holders of
///         RUN_SCRIPT_ROLE (`forward`: it is a forwarder); each permission is asked of the kernel with the arguments
///         the Agent passes (aragonOS's `authP`), its code changes as any app's does (APP_MANAGER_ROLE). Same
///         selectors, constants, events and error strings as the Agent of Aragon's apps-agent 2.1.0 (npm).
contract AragonAgent is AppStorage, CallsScriptRunner {
    // Hard-coded by the Agent: keccak256 of each role's name.
    bytes32 public constant EXECUTE_ROLE = 0xcebf517aa4440d1d125e0355aae64401211d0848a23c02cc5d29a14822580ba4;
    bytes32 public constant SAFE_EXECUTE_ROLE = 0x0a1ad7b87f5846153c6d5a1f761d71c7d0cfd122384f56066cd33239b7933694;
    bytes32 public constant RUN_SCRIPT_ROLE = 0xb421f7ad7646747f3051c50c0b8e2377839296cd4973e27f63821d73e390338f;
    // aragonOS's Initializable: the block of initialize() at an unstructured position.
    bytes32 internal constant INITIALIZATION_BLOCK_POSITION = keccak256("aragonOS.initializable.initializationBlock");

    event Execute(address indexed sender, address indexed target, uint256 ethValue, bytes data);
    event ScriptResult(address indexed executor, bytes script, bytes input, bytes returnData);

    modifier authP(bytes32 role, uint256[] memory params) {
        require(canPerform(msg.sender, role, params), "APP_AUTH_FAILED");
        _;
    }

    function initialize() external {
        require(getInitializationBlock() == 0, "INIT_ALREADY_INITIALIZED");
        bytes32 position = INITIALIZATION_BLOCK_POSITION;
        uint256 at = block.number;
        assembly {
            sstore(position, at)
        }
    }

    function getInitializationBlock() public view returns (uint256 found) {
        bytes32 position = INITIALIZATION_BLOCK_POSITION;
        assembly {
            found := sload(position)
        }
    }

    function hasInitialized() public view returns (bool) {
        uint256 at = getInitializationBlock();
        return at != 0 && block.number >= at;
    }

    /// @dev `authP(EXECUTE_ROLE, arr(_target, _ethValue, uint256(_getSig(_data))))`, then the call; its return data
    ///      (or revert data) is passed back as is.
    function execute(address _target, uint256 _ethValue, bytes calldata _data)
        external
        authP(EXECUTE_ROLE, _arr(uint256(uint160(_target)), _ethValue, uint256(uint32(_getSig(_data)))))
    {
        (bool ok, bytes memory result) = _target.call{value: _ethValue}(_data);
        if (ok) emit Execute(msg.sender, _target, _ethValue, _data);
        assembly {
            switch ok
            case 0 { revert(add(result, 32), mload(result)) }
            default { return(add(result, 32), mload(result)) }
        }
    }

    function isForwarder() external pure returns (bool) {
        return true;
    }

    function forward(bytes memory _evmScript) public {
        require(canForward(msg.sender, _evmScript), "AGENT_CAN_NOT_FORWARD");
        _runCallsScript(_evmScript);
        emit ScriptResult(address(0), _evmScript, "", "");
    }

    function canForward(address _sender, bytes memory _evmScript) public view returns (bool) {
        uint256[] memory params = new uint256[](1);
        params[0] = uint256(keccak256(_evmScript)); // aragonOS's _getScriptACLParam
        return canPerform(_sender, RUN_SCRIPT_ROLE, params);
    }

    /// @dev aragonOS's AragonApp.canPerform: the kernel's check, the parameters cast to bytes (their words end to end).
    function canPerform(address _sender, bytes32 _role, uint256[] memory _params) public view returns (bool) {
        if (!hasInitialized() || address(kernel()) == address(0)) return false;
        return kernel().hasPermission(_sender, address(this), _role, abi.encodePacked(_params));
    }

    receive() external payable {}

    function _arr(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory found) {
        found = new uint256[](3);
        (found[0], found[1], found[2]) = (a, b, c);
    }

    function _getSig(bytes calldata _data) internal pure returns (bytes4 sig) {
        if (_data.length < 4) return bytes4(0);
        sig = bytes4(_data[:4]);
    }
}
