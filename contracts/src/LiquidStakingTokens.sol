// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice An owner-minted LST whose ETH-per-token rate the owner (the devnet's oracle) sets, 18 decimals.
abstract contract RatedToken is ERC20, Ownable {
    uint256 internal _rate;

    event ExchangeRateUpdated(address indexed oracle, uint256 newExchangeRate);

    constructor(string memory name_, string memory symbol_, uint256 rate_) ERC20(name_, symbol_) Ownable(msg.sender) {
        _rate = rate_;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    function _setRate(uint256 rate_) internal onlyOwner {
        require(rate_ > 0, "zero rate");
        _rate = rate_;
        emit ExchangeRateUpdated(msg.sender, rate_);
    }
}

/// @title RocketTokenRETH
/// @notice Rocket Pool's rETH views: getExchangeRate() is ETH per 1e18 rETH; getEthValue/getRethValue convert.
contract RocketTokenRETH is RatedToken {
    constructor(uint256 rate_) RatedToken("Rocket Pool ETH", "rETH", rate_) {}

    function getExchangeRate() external view returns (uint256) {
        return _rate;
    }

    function getEthValue(uint256 _rethAmount) external view returns (uint256) {
        return (_rethAmount * _rate) / 1 ether;
    }

    function getRethValue(uint256 _ethAmount) external view returns (uint256) {
        return (_ethAmount * 1 ether) / _rate;
    }

    function setExchangeRate(uint256 rate_) external {
        _setRate(rate_);
    }
}

/// @title StakedTokenV1 (cbETH)
/// @notice Coinbase's cbETH views: exchangeRate() is ETH per 1e18 cbETH, set by the oracle (updateExchangeRate).
contract StakedTokenV1 is RatedToken {
    constructor(uint256 rate_) RatedToken("Coinbase Wrapped Staked ETH", "cbETH", rate_) {}

    function exchangeRate() external view returns (uint256) {
        return _rate;
    }

    function updateExchangeRate(uint256 newExchangeRate) external {
        _setRate(newExchangeRate);
    }
}

/// @title swETH (Swell)
/// @notice Swell's rate views: swETHToETHRate() (= getRate()) is ETH per 1e18 swETH, set by the oracle.
contract SwETH is RatedToken {
    constructor(uint256 rate_) RatedToken("swETH", "swETH", rate_) {}

    function swETHToETHRate() external view returns (uint256) {
        return _rate;
    }

    function getRate() external view returns (uint256) {
        return _rate;
    }
}

/// @title wBETH (Binance)
/// @notice Binance's wrapped beacon ETH: exchangeRate() is ETH per 1e18 wBETH, set by the oracle.
contract WrappedBeaconETH is RatedToken {
    constructor(uint256 rate_) RatedToken("Wrapped Beacon ETH", "wBETH", rate_) {}

    function exchangeRate() external view returns (uint256) {
        return _rate;
    }
}

/// @title sfrxETH (Frax)
/// @notice The ERC-4626 vault share's views: pricePerShare() is frxETH (1:1 ETH) per 1e18 sfrxETH.
contract SfrxETH is RatedToken {
    constructor(uint256 rate_) RatedToken("Staked Frax Ether", "sfrxETH", rate_) {}

    function pricePerShare() external view returns (uint256) {
        return _rate;
    }

    function convertToAssets(uint256 shares) external view returns (uint256) {
        return (shares * _rate) / 1 ether;
    }
}

/// @title OETH (Origin Ether)
/// @notice A rebasing token the Origin vault redeems 1:1 for ETH: no exchange rate to read.
contract OETH is RatedToken {
    constructor() RatedToken("Origin Ether", "OETH", 1 ether) {}
}
