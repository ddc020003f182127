// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Reverter
/// @notice Fixed behaviours for chain-layer tests: a call that succeeds, one that reverts with a
///         reason string and one that reverts with a custom error.
contract Reverter {
    error CustomFailure(uint256 code, string why);

    uint256 public constant OK_VALUE = 42;

    function ok() external pure returns (uint256) {
        return OK_VALUE;
    }

    function fail() external pure returns (uint256) {
        revert("always fails");
    }

    function failCustom() external pure returns (uint256) {
        revert CustomFailure(7, "custom");
    }
}
