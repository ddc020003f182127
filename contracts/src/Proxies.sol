// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {ERC1967Utils} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Utils.sol";
import {IERC1967} from "@openzeppelin/contracts/interfaces/IERC1967.sol";
import {StorageSlot} from "@openzeppelin/contracts/utils/StorageSlot.sol";

/// @notice EigenLayer's EmptyContract: the first implementation of a proxy whose real implementation needs the
///         proxy's address (its constructor takes the other proxies' addresses). OpenZeppelin's proxies come
///         from the package's own build artifacts.
contract EmptyContract {
    function foo() public pure returns (uint256) {
        return 0;
    }
}

/// @notice Lido's OssifiableProxy (lidofinance/core, contracts/0.8.9/proxy/OssifiableProxy.sol) on OpenZeppelin 5's
///         ERC1967Proxy: the admin in EIP-1967's admin slot upgrades through the proxy__ functions; ossifying
///         clears the admin for good. Not transparent: the admin's other calls reach the implementation.
contract OssifiableProxy is ERC1967Proxy {
    event ProxyOssified();

    error NotAdmin();
    error ProxyIsOssified();

    modifier onlyAdmin() {
        address admin = ERC1967Utils.getAdmin();
        if (admin == address(0)) revert ProxyIsOssified();
        if (admin != msg.sender) revert NotAdmin();
        _;
    }

    constructor(address implementation_, address admin_, bytes memory data_) ERC1967Proxy(implementation_, data_) {
        ERC1967Utils.changeAdmin(admin_);
    }

    function proxy__getIsOssified() external view returns (bool) {
        return ERC1967Utils.getAdmin() == address(0);
    }

    function proxy__getAdmin() external view returns (address) {
        return ERC1967Utils.getAdmin();
    }

    function proxy__getImplementation() external view returns (address) {
        return _implementation();
    }

    function proxy__ossify() external onlyAdmin {
        address prevAdmin = ERC1967Utils.getAdmin();
        // OpenZeppelin 5's changeAdmin refuses the zero address: the slot is cleared directly, as Lido's code does.
        StorageSlot.getAddressSlot(ERC1967Utils.ADMIN_SLOT).value = address(0);
        emit IERC1967.AdminChanged(prevAdmin, address(0));
        emit ProxyOssified();
    }

    function proxy__changeAdmin(address newAdmin_) external onlyAdmin {
        ERC1967Utils.changeAdmin(newAdmin_);
    }

    function proxy__upgradeTo(address newImplementation_) external onlyAdmin {
        ERC1967Utils.upgradeToAndCall(newImplementation_, "");
    }

    function proxy__upgradeToAndCall(address newImplementation_, bytes calldata setupCalldata_, bool)
        external
        onlyAdmin
    {
        ERC1967Utils.upgradeToAndCall(newImplementation_, setupCalldata_);
    }
}
