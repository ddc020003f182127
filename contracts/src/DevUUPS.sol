// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";

/// @title DevUUPS
/// @notice A minimal UUPS implementation (OpenZeppelin's UUPSUpgradeable) behind an ERC1967Proxy, for the control
///         reads' tests: the implementation answers proxiableUUID() and only its owner may upgrade.
contract DevUUPS is UUPSUpgradeable {
    address public owner;

    function initialize(address owner_) external {
        require(owner == address(0), "initialized");
        owner = owner_;
    }

    function _authorizeUpgrade(address) internal view override {
        require(msg.sender == owner, "not the owner");
    }
}
