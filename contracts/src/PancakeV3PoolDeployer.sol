// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PancakeSwap V3 pool deployer for the devnet
/// @notice The npm package @pancakeswap/v3-core ships the factory and the pool but not this contract. It
/// behaves as PancakeSwap's own PancakeV3PoolDeployer: the factory calls `deploy`, which sets `parameters`
/// (read by the pool's constructor), CREATE2s the pool with salt keccak256(abi.encode(token0, token1, fee))
/// and clears them. The pool's creation code is the package's, unchanged (so its init-code hash is
/// mainnet's); it is too big to embed here, so the constructor stores it as the code of a data contract.
contract PancakeV3PoolDeployer {
    struct Parameters {
        address factory;
        address token0;
        address token1;
        uint24 fee;
        int24 tickSpacing;
    }

    Parameters public parameters;
    address public factoryAddress;
    /// @notice A contract whose runtime code is 0x00 followed by the pool's creation code.
    address public immutable creationCodeHolder;

    event SetFactoryAddress(address indexed factory);

    constructor(bytes memory poolCreationCode) {
        // Init code that returns everything after its own 12 bytes as runtime code; a leading STOP byte
        // keeps the holder from being callable.
        bytes memory init = abi.encodePacked(
            hex"61", uint16(poolCreationCode.length + 1), hex"80600C6000396000F3", hex"00", poolCreationCode
        );
        address holder;
        assembly {
            holder := create(0, add(init, 32), mload(init))
        }
        require(holder != address(0), "creation code holder not deployed");
        creationCodeHolder = holder;
    }

    function setFactoryAddress(address _factoryAddress) external {
        require(factoryAddress == address(0), "already initialized");
        factoryAddress = _factoryAddress;
        emit SetFactoryAddress(_factoryAddress);
    }

    function deploy(address factory, address token0, address token1, uint24 fee, int24 tickSpacing)
        external
        returns (address pool)
    {
        require(msg.sender == factoryAddress, "only factory can call deploy");
        parameters = Parameters(factory, token0, token1, fee, tickSpacing);
        address holder = creationCodeHolder;
        bytes32 salt = keccak256(abi.encode(token0, token1, fee));
        assembly {
            let size := sub(extcodesize(holder), 1)
            let code := mload(0x40)
            extcodecopy(holder, code, 1, size)
            pool := create2(0, code, size, salt)
        }
        require(pool != address(0), "pool not deployed");
        delete parameters;
    }
}
