// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// The proxies the devnet puts its upgradeable stand-ins behind, as mainnet does: OpenZeppelin's
/// TransparentUpgradeableProxy (each creates its own ProxyAdmin, owned by the `initialOwner` given) and
/// ERC1967Proxy, compiled from @openzeppelin/contracts and written out under their own names by build.mjs.

import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @notice EigenLayer's EmptyContract: the first implementation of a proxy whose real implementation needs the
///         proxy's address (its constructor takes the other proxies' addresses).
contract EmptyContract {
    function foo() public pure returns (uint256) {
        return 0;
    }
}
