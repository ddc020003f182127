// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A minimal replica of aragonOS 4's app upgradeability (Lido's stETH on mainnet is an Aragon
///         AppProxyUpgradeable): the proxy delegates to `kernel.getApp(APP_BASES_NAMESPACE, appId)`, and the kernel's
///         `setApp` changes that base when its ACL grants the caller APP_MANAGER_ROLE. Same selectors, namespace
///         and storage positions as aragonOS 4.4.0, the npm package; the ACL here is one holder per role.
contract AragonACL {
    mapping(bytes32 => address) public roleHolder;
    address internal immutable manager;

    constructor(address manager_) {
        manager = manager_;
    }

    function grant(bytes32 role, address holder) external {
        require(msg.sender == manager, "ACL_AUTH_NO_MANAGER");
        roleHolder[role] = holder;
    }

    function hasPermission(address who, address, bytes32 what, bytes memory) external view returns (bool) {
        return who != address(0) && roleHolder[what] == who;
    }
}

contract AragonKernel {
    bytes32 public constant APP_MANAGER_ROLE = keccak256("APP_MANAGER_ROLE");
    bytes32 public constant APP_BASES_NAMESPACE = keccak256("base");

    event SetApp(bytes32 indexed namespace, bytes32 indexed appId, address app);

    AragonACL public acl;
    mapping(bytes32 => mapping(bytes32 => address)) public apps;

    constructor(AragonACL acl_) {
        acl = acl_;
    }

    function setApp(bytes32 namespace, bytes32 appId, address app) external {
        require(acl.hasPermission(msg.sender, address(this), APP_MANAGER_ROLE, ""), "KERNEL_AUTH_FAILED");
        apps[namespace][appId] = app;
        emit SetApp(namespace, appId, app);
    }

    function getApp(bytes32 namespace, bytes32 appId) external view returns (address) {
        return apps[namespace][appId];
    }
}

contract AppProxyUpgradeable {
    // aragonOS's unstructured storage positions: the app's own storage starts at slot 0 untouched.
    bytes32 internal constant KERNEL_POSITION = keccak256("aragonOS.appStorage.kernel");
    bytes32 internal constant APP_ID_POSITION = keccak256("aragonOS.appStorage.appId");
    bytes32 internal constant APP_BASES_NAMESPACE = keccak256("base");
    // ERC-897: the implementation can change.
    uint256 internal constant UPGRADEABLE = 2;

    constructor(AragonKernel kernel_, bytes32 appId_, bytes memory initializePayload) payable {
        bytes32 kernelPosition = KERNEL_POSITION;
        bytes32 appIdPosition = APP_ID_POSITION;
        assembly {
            sstore(kernelPosition, kernel_)
            sstore(appIdPosition, appId_)
        }
        if (initializePayload.length > 0) {
            (bool ok,) = implementation().delegatecall(initializePayload);
            require(ok, "APP_PROXY_INIT_FAILED");
        }
    }

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
