// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice EigenLayer's EmptyContract: the first implementation of a proxy whose real implementation needs the
///         proxy's address (its constructor takes the other proxies' addresses). The proxies themselves are
///         OpenZeppelin's own build (@openzeppelin/contracts/build/contracts).
contract EmptyContract {
    function foo() public pure returns (uint256) {
        return 0;
    }
}
