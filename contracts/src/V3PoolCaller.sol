// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IERC20Transfer {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IV3PoolActions {
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        returns (uint256 amount0, uint256 amount1);

    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160 sqrtPriceLimitX96,
        bytes calldata data
    ) external returns (int256 amount0, int256 amount1);
}

/// @title Mints and swaps directly on Uniswap V3 and PancakeSwap V3 pools (devnet and tests)
/// @notice The pools pay out first and then call back for what they are owed; this contract answers both
/// protocols' callbacks by pulling the tokens from the account that called it (which approved it). It
/// returns the pool's own amounts, so an eth_call of `swap` is an exact quote from the real pool.
contract V3PoolCaller {
    // Only the pool being called may call back: another caller could spend the payer's approvals.
    address private expectedPool;

    function mint(address pool, address recipient, int24 tickLower, int24 tickUpper, uint128 amount)
        external
        returns (uint256 amount0, uint256 amount1)
    {
        expectedPool = pool;
        (amount0, amount1) = IV3PoolActions(pool).mint(recipient, tickLower, tickUpper, amount, abi.encode(msg.sender));
        expectedPool = address(0);
    }

    function swap(address pool, address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96)
        external
        returns (int256 amount0, int256 amount1)
    {
        expectedPool = pool;
        (amount0, amount1) = IV3PoolActions(pool).swap(
            recipient, zeroForOne, amountSpecified, sqrtPriceLimitX96, abi.encode(msg.sender)
        );
        expectedPool = address(0);
    }

    function uniswapV3MintCallback(uint256 owed0, uint256 owed1, bytes calldata data) external {
        _pay(owed0, owed1, data);
    }

    function pancakeV3MintCallback(uint256 owed0, uint256 owed1, bytes calldata data) external {
        _pay(owed0, owed1, data);
    }

    function uniswapV3SwapCallback(int256 delta0, int256 delta1, bytes calldata data) external {
        _pay(delta0 > 0 ? uint256(delta0) : 0, delta1 > 0 ? uint256(delta1) : 0, data);
    }

    function pancakeV3SwapCallback(int256 delta0, int256 delta1, bytes calldata data) external {
        _pay(delta0 > 0 ? uint256(delta0) : 0, delta1 > 0 ? uint256(delta1) : 0, data);
    }

    function _pay(uint256 owed0, uint256 owed1, bytes calldata data) private {
        require(msg.sender == expectedPool, "callback from an unexpected caller");
        address payer = abi.decode(data, (address));
        (bool ok0, bytes memory t0) = msg.sender.staticcall(abi.encodeWithSignature("token0()"));
        (bool ok1, bytes memory t1) = msg.sender.staticcall(abi.encodeWithSignature("token1()"));
        require(ok0 && ok1, "pool tokens unreadable");
        if (owed0 > 0) require(IERC20Transfer(abi.decode(t0, (address))).transferFrom(payer, msg.sender, owed0));
        if (owed1 > 0) require(IERC20Transfer(abi.decode(t1, (address))).transferFrom(payer, msg.sender, owed1));
    }
}
