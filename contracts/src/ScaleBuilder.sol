// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IScaleToken {
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IUniswapV2FactoryCreate {
    function createPair(address tokenA, address tokenB) external returns (address pair);
}

interface IUniswapV2PairMint {
    function mint(address to) external returns (uint256 liquidity);
}

interface IUniswapV3FactoryCreate {
    function createPool(address tokenA, address tokenB, uint24 fee) external returns (address pool);
}

interface IUniswapV3PoolSeed {
    function initialize(uint160 sqrtPriceX96) external;

    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        returns (uint256 amount0, uint256 amount1);

    function token0() external view returns (address);

    function token1() external view returns (address);
}

/// @title Builds defiscope's scale world: thousands of real factory pairs and pools per transaction (devnet only)
/// @notice Each pair and pool is created by the real Uniswap factory (so its address, code and events are
/// mainnet's), then seeded the way the real periphery seeds it: V2 tokens are sent to the pair before
/// `mint`, V3 liquidity is paid in `uniswapV3MintCallback`. The builder pays from its own token balances
/// (minted to it by the tokens' owner) and the LP shares go to `recipient`. Only the deployer may build.
contract ScaleBuilder {
    address public immutable owner;
    // The pool being seeded: only it may call back for payment.
    address private expectedPool;

    struct V3Seed {
        address tokenA;
        address tokenB;
        uint24 fee;
        uint160 sqrtPriceX96;
        int24 tickLower;
        int24 tickUpper;
        uint128 liquidity;
    }

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "only the owner builds");
        _;
    }

    /// @notice Creates pair (tokenA[i], tokenB[i]) on `factory` and seeds it with amountA[i] and amountB[i].
    function createPairs(
        address factory,
        address[] calldata tokenA,
        address[] calldata tokenB,
        uint256[] calldata amountA,
        uint256[] calldata amountB,
        address recipient
    ) external onlyOwner {
        uint256 n = tokenA.length;
        require(tokenB.length == n && amountA.length == n && amountB.length == n, "length mismatch");
        for (uint256 i = 0; i < n; i++) {
            address pair = IUniswapV2FactoryCreate(factory).createPair(tokenA[i], tokenB[i]);
            require(IScaleToken(tokenA[i]).transfer(pair, amountA[i]), "transfer A");
            require(IScaleToken(tokenB[i]).transfer(pair, amountB[i]), "transfer B");
            IUniswapV2PairMint(pair).mint(recipient);
        }
    }

    /// @notice Creates, initializes and seeds one V3 pool per entry: one position of `liquidity` in
    /// [tickLower, tickUpper] owned by `recipient`.
    function createPools(address factory, V3Seed[] calldata seeds, address recipient) external onlyOwner {
        for (uint256 i = 0; i < seeds.length; i++) {
            V3Seed calldata seed = seeds[i];
            address pool = IUniswapV3FactoryCreate(factory).createPool(seed.tokenA, seed.tokenB, seed.fee);
            IUniswapV3PoolSeed(pool).initialize(seed.sqrtPriceX96);
            expectedPool = pool;
            IUniswapV3PoolSeed(pool).mint(recipient, seed.tickLower, seed.tickUpper, seed.liquidity, "");
            expectedPool = address(0);
        }
    }

    function uniswapV3MintCallback(uint256 owed0, uint256 owed1, bytes calldata) external {
        require(msg.sender == expectedPool, "callback from an unexpected caller");
        if (owed0 > 0) require(IScaleToken(IUniswapV3PoolSeed(msg.sender).token0()).transfer(msg.sender, owed0));
        if (owed1 > 0) require(IScaleToken(IUniswapV3PoolSeed(msg.sender).token1()).transfer(msg.sender, owed1));
    }
}
