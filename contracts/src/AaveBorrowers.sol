// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The two Aave V3 Pool functions the borrowers use.
interface IAavePool {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)
        external;
}

interface IERC20Minimal {
    function approve(address spender, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title AaveBorrower
/// @notice One Aave account: its factory supplies collateral on its behalf, then it borrows (variable rate)
///         and sends the borrowed tokens to a sink.
contract AaveBorrower {
    address private immutable factory;

    constructor() {
        factory = msg.sender;
    }

    function borrow(IAavePool pool, address asset, uint256 amount, address sink) external {
        require(msg.sender == factory, "only factory");
        pool.borrow(asset, amount, 2, 0, address(this));
        IERC20Minimal(asset).transfer(sink, amount);
    }
}

/// @title AaveBorrowerFactory
/// @notice Creates many Aave positions in one transaction (for benchmarks): each gets `collateralAmount`
///         of `collateral` (pulled from the caller) and borrows its entry of `debtAmounts` of `debt`.
contract AaveBorrowerFactory {
    event Created(address indexed borrower, uint256 debtAmount);

    function create(
        IAavePool pool,
        IERC20Minimal collateral,
        uint256 collateralAmount,
        address debt,
        uint256[] calldata debtAmounts
    ) external returns (address[] memory borrowers) {
        uint256 n = debtAmounts.length;
        collateral.transferFrom(msg.sender, address(this), collateralAmount * n);
        collateral.approve(address(pool), collateralAmount * n);
        borrowers = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            AaveBorrower borrower = new AaveBorrower();
            pool.supply(address(collateral), collateralAmount, address(borrower), 0);
            if (debtAmounts[i] > 0) borrower.borrow(pool, debt, debtAmounts[i], msg.sender);
            borrowers[i] = address(borrower);
            emit Created(address(borrower), debtAmounts[i]);
        }
    }
}
