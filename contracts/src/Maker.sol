// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// ABI- and math-compatible stand-ins for MakerDAO's dss core (makerdao/dss: vat.sol, jug.sol, spot.sol,
/// dog.sol, join.sol, dai.sol; osm, ilk-registry, dss-cdp-manager, ds-proxy, dss-proxy-actions,
/// dss-lite-psm): same names, storage layout of ilks/urns as read by integrators, access control, and the
/// same wad (1e18) / ray (1e27) / rad (1e45) arithmetic, rounding and order of operations. The Vat logs its
/// calls as dss LibNote anonymous LogNotes, as mainnet's does. Left out: cage/end (global settlement), the
/// Vow's debt queue, Clipper auctions (MakerClipper only records each kick) and the OSM's one-hour delay.

abstract contract MakerAuth {
    mapping(address => uint256) public wards;

    constructor() {
        wards[msg.sender] = 1;
    }

    function rely(address usr) external virtual auth {
        wards[usr] = 1;
    }

    function deny(address usr) external virtual auth {
        wards[usr] = 0;
    }

    modifier auth() {
        require(wards[msg.sender] == 1, "Maker/not-authorized");
        _;
    }
}

/// @notice dss LibNote: after the call, an anonymous log4 with the selector (left-aligned) and the first three
///         argument words as topics, and the first 224 bytes of calldata as data.
abstract contract MakerLibNote {
    event LogNote(
        bytes4 indexed sig, bytes32 indexed arg1, bytes32 indexed arg2, bytes32 indexed arg3, bytes data
    ) anonymous;

    modifier note() {
        _;
        assembly {
            let mark := mload(0x40)
            mstore(0x40, add(mark, 288))
            mstore(mark, 0x20)
            mstore(add(mark, 0x20), 224)
            calldatacopy(add(mark, 0x40), 0, 224)
            log4(mark, 288, shl(224, shr(224, calldataload(0))), calldataload(4), calldataload(36), calldataload(68))
        }
    }
}

/// @notice dss lib.sol's LibNote (jug.sol, spot.sol): after the call, an anonymous log4 with the selector
///         (left-aligned), the caller and the first two argument words as topics, and 224 bytes of calldata as data.
abstract contract DssLibNote {
    event LogNote(
        bytes4 indexed sig, address indexed usr, bytes32 indexed arg1, bytes32 indexed arg2, bytes data
    ) anonymous;

    modifier note() {
        _;
        assembly {
            let mark := mload(0x40)
            mstore(0x40, add(mark, 288))
            mstore(mark, 0x20)
            mstore(add(mark, 0x20), 224)
            calldatacopy(add(mark, 0x40), 0, 224)
            log4(mark, 288, shl(224, shr(224, calldataload(0))), caller(), calldataload(4), calldataload(36))
        }
    }
}

/// @notice jug.sol's and spot.sol's access control: rely and deny log a LibNote (the constructor's ward, nothing).
abstract contract MakerNotedAuth is MakerAuth, DssLibNote {
    function rely(address usr) external override note auth {
        wards[usr] = 1;
    }

    function deny(address usr) external override note auth {
        wards[usr] = 0;
    }
}

contract Vat is MakerAuth, MakerLibNote {
    struct Ilk {
        uint256 Art; // Total Normalised Debt     [wad]
        uint256 rate; // Accumulated Rates         [ray]
        uint256 spot; // Price with Safety Margin  [ray]
        uint256 line; // Debt Ceiling              [rad]
        uint256 dust; // Urn Debt Floor            [rad]
    }

    struct Urn {
        uint256 ink; // Locked Collateral  [wad]
        uint256 art; // Normalised Debt    [wad]
    }

    mapping(address => mapping(address => uint256)) public can;
    mapping(bytes32 => Ilk) public ilks;
    mapping(bytes32 => mapping(address => Urn)) public urns;
    mapping(bytes32 => mapping(address => uint256)) public gem; // [wad]
    mapping(address => uint256) public dai; // [rad]
    mapping(address => uint256) public sin; // [rad]

    uint256 public debt; // Total Dai Issued    [rad]
    uint256 public vice; // Total Unbacked Dai  [rad]
    uint256 public Line; // Total Debt Ceiling  [rad]
    uint256 public live = 1;

    function rely(address usr) external override note auth {
        require(live == 1, "Vat/not-live");
        wards[usr] = 1;
    }

    function deny(address usr) external override note auth {
        require(live == 1, "Vat/not-live");
        wards[usr] = 0;
    }

    function hope(address usr) external note {
        can[msg.sender][usr] = 1;
    }

    function nope(address usr) external note {
        can[msg.sender][usr] = 0;
    }

    function wish(address bit, address usr) internal view returns (bool) {
        return bit == usr || can[bit][usr] == 1;
    }

    function _add(uint256 x, int256 y) internal pure returns (uint256 z) {
        return y >= 0 ? x + uint256(y) : x - uint256(-y);
    }

    function _sub(uint256 x, int256 y) internal pure returns (uint256 z) {
        return y >= 0 ? x - uint256(y) : x + uint256(-y);
    }

    function _mul(uint256 x, int256 y) internal pure returns (int256 z) {
        return int256(x) * y;
    }

    function init(bytes32 ilk) external note auth {
        require(ilks[ilk].rate == 0, "Vat/ilk-already-init");
        ilks[ilk].rate = 10 ** 27;
    }

    function file(bytes32 what, uint256 data) external note auth {
        require(live == 1, "Vat/not-live");
        if (what == "Line") Line = data;
        else revert("Vat/file-unrecognized-param");
    }

    function file(bytes32 ilk, bytes32 what, uint256 data) external note auth {
        require(live == 1, "Vat/not-live");
        if (what == "spot") ilks[ilk].spot = data;
        else if (what == "line") ilks[ilk].line = data;
        else if (what == "dust") ilks[ilk].dust = data;
        else revert("Vat/file-unrecognized-param");
    }

    function slip(bytes32 ilk, address usr, int256 wad) external note auth {
        gem[ilk][usr] = _add(gem[ilk][usr], wad);
    }

    function flux(bytes32 ilk, address src, address dst, uint256 wad) external note {
        require(wish(src, msg.sender), "Vat/not-allowed");
        gem[ilk][src] = gem[ilk][src] - wad;
        gem[ilk][dst] = gem[ilk][dst] + wad;
    }

    function move(address src, address dst, uint256 rad) external note {
        require(wish(src, msg.sender), "Vat/not-allowed");
        dai[src] = dai[src] - rad;
        dai[dst] = dai[dst] + rad;
    }

    /// @dev vat.frob: lock/free `dink` collateral and draw/wipe `dart` normalised debt of urn `u`.
    function frob(bytes32 i, address u, address v, address w, int256 dink, int256 dart) external note {
        require(live == 1, "Vat/not-live");
        Urn memory urn = urns[i][u];
        Ilk memory ilk = ilks[i];
        require(ilk.rate != 0, "Vat/ilk-not-init");

        urn.ink = _add(urn.ink, dink);
        urn.art = _add(urn.art, dart);
        ilk.Art = _add(ilk.Art, dart);

        int256 dtab = _mul(ilk.rate, dart);
        uint256 tab = ilk.rate * urn.art;
        debt = _add(debt, dtab);

        require(dart <= 0 || (ilk.Art * ilk.rate <= ilk.line && debt <= Line), "Vat/ceiling-exceeded");
        require((dart <= 0 && dink >= 0) || tab <= urn.ink * ilk.spot, "Vat/not-safe");
        require((dart <= 0 && dink >= 0) || wish(u, msg.sender), "Vat/not-allowed-u");
        require(dink <= 0 || wish(v, msg.sender), "Vat/not-allowed-v");
        require(dart >= 0 || wish(w, msg.sender), "Vat/not-allowed-w");
        require(urn.art == 0 || tab >= ilk.dust, "Vat/dust");

        gem[i][v] = _sub(gem[i][v], dink);
        dai[w] = _add(dai[w], dtab);

        urns[i][u] = urn;
        ilks[i] = ilk;
    }

    function grab(bytes32 i, address u, address v, address w, int256 dink, int256 dart) external note auth {
        Urn storage urn = urns[i][u];
        Ilk storage ilk = ilks[i];
        urn.ink = _add(urn.ink, dink);
        urn.art = _add(urn.art, dart);
        ilk.Art = _add(ilk.Art, dart);
        int256 dtab = _mul(ilk.rate, dart);
        gem[i][v] = _sub(gem[i][v], dink);
        sin[w] = _sub(sin[w], dtab);
        vice = _sub(vice, dtab);
    }

    function heal(uint256 rad) external note {
        address u = msg.sender;
        sin[u] = sin[u] - rad;
        dai[u] = dai[u] - rad;
        vice = vice - rad;
        debt = debt - rad;
    }

    function suck(address u, address v, uint256 rad) external note auth {
        sin[u] = sin[u] + rad;
        dai[v] = dai[v] + rad;
        vice = vice + rad;
        debt = debt + rad;
    }

    /// @dev vat.fold: the stability fee accrual: every urn's debt grows by Art * rate, paid to `u`.
    function fold(bytes32 i, address u, int256 rate) external note auth {
        require(live == 1, "Vat/not-live");
        Ilk storage ilk = ilks[i];
        ilk.rate = _add(ilk.rate, rate);
        int256 rad = _mul(ilk.Art, rate);
        dai[u] = _add(dai[u], rad);
        debt = _add(debt, rad);
    }
}

/// @notice Dai with Maker's wards: the DaiJoin mints and burns.
contract MakerDaiToken is ERC20, MakerAuth {
    constructor() ERC20("Dai Stablecoin", "DAI") {}

    function mint(address usr, uint256 wad) external auth {
        _mint(usr, wad);
    }

    function burn(address usr, uint256 wad) external {
        if (usr != msg.sender) _spendAllowance(usr, msg.sender, wad);
        _burn(usr, wad);
    }
}

/// @notice GemJoin with GemJoin5's decimal handling (WBTC's 8 decimals become an 18-decimal vat gem);
///         for an 18-decimal token it is exactly GemJoin.
/// @notice dss join.sol's access control: rely and deny log `Rely(usr)` / `Deny(usr)` (no LibNote), `cage` stops
///         joins (`Cage()`), as mainnet's GemJoins and DaiJoin since dss 1.2 do.
abstract contract MakerJoinAuth is MakerAuth {
    uint256 public live = 1;

    event Rely(address indexed usr);
    event Deny(address indexed usr);
    event Cage();

    function rely(address usr) external override auth {
        wards[usr] = 1;
        emit Rely(usr);
    }

    function deny(address usr) external override auth {
        wards[usr] = 0;
        emit Deny(usr);
    }

    function cage() external auth {
        live = 0;
        emit Cage();
    }
}

contract GemJoin is MakerJoinAuth {
    Vat public immutable vat;
    bytes32 public immutable ilk;
    IERC20Metadata public immutable gem;
    uint256 public immutable dec;

    constructor(Vat vat_, bytes32 ilk_, IERC20Metadata gem_) {
        vat = vat_;
        ilk = ilk_;
        gem = gem_;
        dec = gem_.decimals();
        require(dec <= 18, "GemJoin/decimals-18-or-less");
    }

    function join(address usr, uint256 amt) external {
        require(live == 1, "GemJoin/not-live");
        uint256 wad = amt * 10 ** (18 - dec);
        require(int256(wad) >= 0, "GemJoin/overflow");
        vat.slip(ilk, usr, int256(wad));
        require(gem.transferFrom(msg.sender, address(this), amt), "GemJoin/failed-transfer");
    }

    function exit(address usr, uint256 amt) external {
        uint256 wad = amt * 10 ** (18 - dec);
        require(wad <= 2 ** 255, "GemJoin/overflow");
        vat.slip(ilk, msg.sender, -int256(wad));
        require(gem.transfer(usr, amt), "GemJoin/failed-transfer");
    }
}

contract DaiJoin is MakerJoinAuth {
    uint256 internal constant ONE = 10 ** 27;
    Vat public immutable vat;
    MakerDaiToken public immutable dai;

    constructor(Vat vat_, MakerDaiToken dai_) {
        vat = vat_;
        dai = dai_;
    }

    function join(address usr, uint256 wad) external {
        vat.move(address(this), usr, ONE * wad);
        dai.burn(msg.sender, wad);
    }

    function exit(address usr, uint256 wad) external {
        require(live == 1, "DaiJoin/not-live");
        vat.move(msg.sender, address(this), ONE * wad);
        dai.mint(usr, wad);
    }
}

interface MakerFeed {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
    function decimals() external view returns (uint8);
}

/// @notice The OSM's access control: `peek`, `peep` and `read` answer only whitelisted (`kiss`ed) callers,
///         as mainnet's OSMs do ("OSM/contract-not-whitelisted"); the Spotter is kissed. The price is the
///         source feed's current answer as a wad (mainnet's is the median of an hour ago).
contract MakerOsm is MakerAuth {
    MakerFeed public immutable src;
    uint256 public stopped;
    mapping(address => uint256) public bud;

    constructor(MakerFeed src_) {
        src = src_;
    }

    modifier toll() {
        require(bud[msg.sender] == 1, "OSM/contract-not-whitelisted");
        _;
    }

    function kiss(address a) external auth {
        require(a != address(0), "OSM/no-contract-0");
        bud[a] = 1;
    }

    function diss(address a) external auth {
        bud[a] = 0;
    }

    function _value() internal view returns (bytes32, bool) {
        (, int256 answer,,,) = src.latestRoundData();
        if (answer <= 0) return (bytes32(0), false);
        return (bytes32(uint256(answer) * 10 ** (18 - src.decimals())), true);
    }

    function peek() external view toll returns (bytes32, bool) {
        return _value();
    }

    function peep() external view toll returns (bytes32, bool) {
        return _value();
    }

    function read() external view toll returns (bytes32) {
        (bytes32 val, bool has) = _value();
        require(has, "OSM/no-current-value");
        return val;
    }
}

contract Spotter is MakerNotedAuth {
    struct Ilk {
        MakerOsm pip;
        uint256 mat; // Liquidation ratio [ray]
    }

    uint256 internal constant ONE = 10 ** 27;
    mapping(bytes32 => Ilk) public ilks;
    Vat public immutable vat;
    uint256 public par; // ref per dai [ray]
    uint256 public live = 1;

    event Poke(bytes32 ilk, bytes32 val, uint256 spot);

    constructor(Vat vat_) {
        vat = vat_;
        par = ONE;
    }

    function rdiv(uint256 x, uint256 y) internal pure returns (uint256 z) {
        z = x * ONE / y;
    }

    function file(bytes32 ilk, bytes32 what, address pip_) external auth {
        require(what == "pip", "Spotter/file-unrecognized-param");
        ilks[ilk].pip = MakerOsm(pip_);
    }

    function file(bytes32 what, uint256 data) external auth {
        require(what == "par", "Spotter/file-unrecognized-param");
        par = data;
    }

    function file(bytes32 ilk, bytes32 what, uint256 data) external auth {
        require(what == "mat", "Spotter/file-unrecognized-param");
        ilks[ilk].mat = data;
    }

    /// @dev spot.poke: spot = price / par / mat, price a wad widened to a ray (* 10**9).
    function poke(bytes32 ilk) external {
        (bytes32 val, bool has) = ilks[ilk].pip.peek();
        uint256 spot = has ? rdiv(rdiv(uint256(val) * 10 ** 9, par), ilks[ilk].mat) : 0;
        vat.file(ilk, "spot", spot);
        emit Poke(ilk, val, spot);
    }
}

/// @notice jug.rpow, shared by the Jug (where it is internal, as on mainnet) and a test probe.
library JugMath {
    /// @dev jug.rpow, verbatim: exponentiation by squaring in base b, rounding half up at each step.
    function rpow(uint256 x, uint256 n, uint256 b) internal pure returns (uint256 z) {
        assembly {
            switch x
            case 0 {
                switch n
                case 0 { z := b }
                default { z := 0 }
            }
            default {
                switch mod(n, 2)
                case 0 { z := b }
                default { z := x }
                let half := div(b, 2) // for rounding.
                for { n := div(n, 2) } n { n := div(n, 2) } {
                    let xx := mul(x, x)
                    if iszero(eq(div(xx, x), x)) { revert(0, 0) }
                    let xxRound := add(xx, half)
                    if lt(xxRound, xx) { revert(0, 0) }
                    x := div(xxRound, b)
                    if mod(n, 2) {
                        let zx := mul(z, x)
                        if and(iszero(iszero(x)), iszero(eq(div(zx, x), z))) { revert(0, 0) }
                        let zxRound := add(zx, half)
                        if lt(zxRound, zx) { revert(0, 0) }
                        z := div(zxRound, b)
                    }
                }
            }
        }
    }

}

/// @notice Not a mainnet contract: exposes `JugMath.rpow` to differential tests (the Jug's is internal).
contract JugRpowProbe {
    function rpow(uint256 x, uint256 n, uint256 b) external pure returns (uint256) {
        return JugMath.rpow(x, n, b);
    }
}

contract Jug is MakerNotedAuth {
    struct Ilk {
        uint256 duty; // Collateral-specific, per-second stability fee contribution [ray]
        uint256 rho; // Time of last drip [unix epoch time]
    }

    uint256 internal constant ONE = 10 ** 27;
    mapping(bytes32 => Ilk) public ilks;
    Vat public immutable vat;
    address public vow;
    uint256 public base; // Global, per-second stability fee contribution [ray]

    constructor(Vat vat_) {
        vat = vat_;
    }

    function _diff(uint256 x, uint256 y) internal pure returns (int256 z) {
        z = int256(x) - int256(y);
    }

    function _rmul(uint256 x, uint256 y) internal pure returns (uint256 z) {
        z = x * y / ONE;
    }

    function init(bytes32 ilk) external auth {
        Ilk storage i = ilks[ilk];
        require(i.duty == 0, "Jug/ilk-already-init");
        i.duty = ONE;
        i.rho = block.timestamp;
    }

    function file(bytes32 ilk, bytes32 what, uint256 data) external auth {
        require(block.timestamp == ilks[ilk].rho, "Jug/rho-not-updated");
        require(what == "duty", "Jug/file-unrecognized-param");
        ilks[ilk].duty = data;
    }

    function file(bytes32 what, uint256 data) external auth {
        require(what == "base", "Jug/file-unrecognized-param");
        base = data;
    }

    function file(bytes32 what, address data) external auth {
        require(what == "vow", "Jug/file-unrecognized-param");
        vow = data;
    }

    /// @dev jug.drip: rate' = rpow(base + duty, now - rho) * rate, folded into the vat.
    function drip(bytes32 ilk) external returns (uint256 rate) {
        require(block.timestamp >= ilks[ilk].rho, "Jug/invalid-now");
        (, uint256 prev,,,) = vat.ilks(ilk);
        rate = _rmul(JugMath.rpow(base + ilks[ilk].duty, block.timestamp - ilks[ilk].rho, ONE), prev);
        vat.fold(ilk, vow, _diff(rate, prev));
        ilks[ilk].rho = block.timestamp;
    }
}

/// @notice Records each liquidation the Dog starts (Clipper's kick interface, no auction).
contract MakerClipper is MakerAuth {
    struct Sale {
        uint256 pos;
        uint256 tab; // Dai to raise       [rad]
        uint256 lot; // collateral to sell [wad]
        address usr;
        uint96 tic;
        uint256 top;
    }

    bytes32 public immutable ilk;
    uint256 public kicks;
    mapping(uint256 => Sale) public sales;

    event Kick(uint256 indexed id, uint256 top, uint256 tab, uint256 lot, address indexed usr, address indexed kpr, uint256 coin);

    constructor(bytes32 ilk_) {
        ilk = ilk_;
    }

    function kick(uint256 tab, uint256 lot, address usr, address kpr) external auth returns (uint256 id) {
        id = ++kicks;
        sales[id] = Sale(id, tab, lot, usr, uint96(block.timestamp), 0);
        emit Kick(id, 0, tab, lot, usr, kpr, 0);
    }
}

contract Dog is MakerAuth {
    struct Ilk {
        address clip; // Liquidator
        uint256 chop; // Liquidation Penalty  [wad]
        uint256 hole; // Max DAI needed to cover debt+fees of active auctions per ilk [rad]
        uint256 dirt; // Amt DAI needed to cover debt+fees of active auctions per ilk [rad]
    }

    uint256 internal constant WAD = 10 ** 18;
    Vat public immutable vat;
    mapping(bytes32 => Ilk) public ilks;
    address public vow;
    uint256 public live = 1;
    uint256 public Hole; // [rad]
    uint256 public Dirt; // [rad]

    event Rely(address indexed usr);
    event Deny(address indexed usr);
    event Bark(bytes32 indexed ilk, address indexed urn, uint256 ink, uint256 art, uint256 due, address clip, uint256 indexed id);

    constructor(Vat vat_) {
        vat = vat_;
        emit Rely(msg.sender); // dog.sol: its deployer's ward is logged
    }

    function rely(address usr) external override auth {
        wards[usr] = 1;
        emit Rely(usr);
    }

    function deny(address usr) external override auth {
        wards[usr] = 0;
        emit Deny(usr);
    }

    function file(bytes32 what, address data) external auth {
        require(what == "vow", "Dog/file-unrecognized-param");
        vow = data;
    }

    function file(bytes32 what, uint256 data) external auth {
        require(what == "Hole", "Dog/file-unrecognized-param");
        Hole = data;
    }

    function file(bytes32 ilk, bytes32 what, uint256 data) external auth {
        if (what == "chop") {
            require(data >= WAD, "Dog/file-chop-lt-WAD");
            ilks[ilk].chop = data;
        } else if (what == "hole") {
            ilks[ilk].hole = data;
        } else {
            revert("Dog/file-unrecognized-param");
        }
    }

    function file(bytes32 ilk, bytes32 what, address clip) external auth {
        require(what == "clip", "Dog/file-unrecognized-param");
        ilks[ilk].clip = clip;
    }

    function chop(bytes32 ilk) external view returns (uint256) {
        return ilks[ilk].chop;
    }

    function _min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x <= y ? x : y;
    }

    /// @dev dog.bark: liquidate an unsafe urn (ink * spot < art * rate), up to the hole room; the
    ///      auction must raise the debt times the penalty `chop`.
    function bark(bytes32 ilk, address urn, address kpr) external returns (uint256 id) {
        require(live == 1, "Dog/not-live");
        (uint256 ink, uint256 art) = vat.urns(ilk, urn);
        Ilk memory milk = ilks[ilk];
        uint256 dart;
        uint256 rate;
        uint256 dust;
        {
            uint256 spot;
            (, rate, spot,, dust) = vat.ilks(ilk);
            require(spot > 0 && ink * spot < art * rate, "Dog/not-unsafe");
            require(Hole > Dirt && milk.hole > milk.dirt, "Dog/liquidation-limit-hit");
            uint256 room = _min(Hole - Dirt, milk.hole - milk.dirt);
            dart = _min(art, room * WAD / rate / milk.chop);
            if (art > dart) {
                if ((art - dart) * rate < dust) {
                    dart = art;
                } else {
                    require(dart * rate >= dust, "Dog/dusty-auction-from-partial-liquidation");
                }
            }
        }
        uint256 dink = ink * dart / art;
        require(dink > 0, "Dog/null-auction");
        require(dart <= 2 ** 255 && dink <= 2 ** 255, "Dog/overflow");
        vat.grab(ilk, urn, milk.clip, vow, -int256(dink), -int256(dart));
        uint256 due = dart * rate;
        {
            uint256 tab = due * milk.chop / WAD;
            Dirt = Dirt + tab;
            ilks[ilk].dirt = milk.dirt + tab;
            id = MakerClipper(milk.clip).kick(tab, dink, urn, kpr);
        }
        emit Bark(ilk, urn, dink, dart, due, milk.clip, id);
    }
}
