// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// Stand-ins for the MCD contracts around the core that mainnet's vaults and PSMs go through, written to
/// their verified sources: the IlkRegistry (makerdao/ilk-registry v2), the DssCdpManager and its
/// UrnHandlers (dss-cdp-manager), a DSProxy (ds-proxy: only its owner may `execute`, by delegatecall), the
/// gem-vault functions of DssProxyActions (dss-proxy-actions) and the LitePSM (dss-lite-psm), whose gem sits
/// in a separate `pocket`. Left out: the CdpManager's per-owner linked list, DSProxy's cache/authority and
/// `execute(bytes,bytes)`, and the LitePSM's `buyGem`, `trim` and `chug`.

interface MakerVatLike {
    function wards(address) external view returns (uint256);
    function ilks(bytes32) external view returns (uint256, uint256, uint256, uint256, uint256);
    function urns(bytes32, address) external view returns (uint256, uint256);
    function dai(address) external view returns (uint256);
    function can(address, address) external view returns (uint256);
    function Line() external view returns (uint256);
    function debt() external view returns (uint256);
    function hope(address) external;
    function frob(bytes32, address, address, address, int256, int256) external;
    function flux(bytes32, address, address, uint256) external;
    function move(address, address, uint256) external;
}

interface MakerJoinLike {
    function vat() external view returns (address);
    function ilk() external view returns (bytes32);
    function gem() external view returns (address);
    function dec() external view returns (uint256);
    function join(address, uint256) external;
    function exit(address, uint256) external;
}

interface MakerDaiJoinLike {
    function vat() external view returns (address);
    function dai() external view returns (address);
    function join(address, uint256) external;
    function exit(address, uint256) external;
}

interface MakerSpotLike {
    function ilks(bytes32) external view returns (address, uint256);
}

interface MakerDogLike {
    function ilks(bytes32) external view returns (address, uint256, uint256, uint256);
}

interface MakerJugLike {
    function drip(bytes32) external returns (uint256);
}

abstract contract MakerWards {
    mapping(address => uint256) public wards;

    event Rely(address indexed usr);
    event Deny(address indexed usr);

    constructor() {
        wards[msg.sender] = 1;
        emit Rely(msg.sender);
    }

    function rely(address usr) external auth {
        wards[usr] = 1;
        emit Rely(usr);
    }

    function deny(address usr) external auth {
        wards[usr] = 0;
        emit Deny(usr);
    }

    modifier auth() {
        require(wards[msg.sender] == 1, "Maker/not-authorized");
        _;
    }
}

/// @notice IlkRegistry v2: `add(join)` (anyone, for a live join the Vat relies on; class 1 with a Dog clip)
///         and governance's `put` (any class: 3 RWA, 6 joinless LitePSM).
contract MakerIlkRegistry is MakerWards {
    struct Ilk {
        uint96 pos;
        address join;
        address gem;
        uint8 dec;
        uint96 class;
        address pip;
        address xlip;
        string name;
        string symbol;
    }

    event AddIlk(bytes32 indexed ilk);

    MakerVatLike public immutable vat;
    MakerDogLike public dog;
    MakerSpotLike public spot;
    mapping(bytes32 => Ilk) public ilkData;
    bytes32[] internal ilks;

    constructor(address vat_, address dog_, address spot_) {
        vat = MakerVatLike(vat_);
        dog = MakerDogLike(dog_);
        spot = MakerSpotLike(spot_);
    }

    function add(address adapter) external {
        MakerJoinLike join_ = MakerJoinLike(adapter);
        require(join_.vat() == address(vat), "IlkRegistry/invalid-join-adapter-vat");
        require(vat.wards(adapter) == 1, "IlkRegistry/adapter-not-authorized");
        bytes32 ilk = join_.ilk();
        require(ilk != 0, "IlkRegistry/ilk-adapter-invalid");
        require(ilkData[ilk].join == address(0), "IlkRegistry/ilk-already-exists");
        (address pip_,) = spot.ilks(ilk);
        require(pip_ != address(0), "IlkRegistry/pip-invalid");
        (address xlip_,,,) = dog.ilks(ilk);
        require(xlip_ != address(0), "IlkRegistry/invalid-auction-contract");
        IERC20Metadata token = IERC20Metadata(join_.gem());
        _push(ilk, Ilk(0, adapter, address(token), uint8(join_.dec()), 1, pip_, xlip_, token.name(), token.symbol()));
    }

    function put(
        bytes32 ilk,
        address join_,
        address gem_,
        uint256 dec_,
        uint256 class_,
        address pip_,
        address xlip_,
        string calldata name_,
        string calldata symbol_
    ) external auth {
        require(class_ != 0 && class_ <= type(uint96).max, "IlkRegistry/invalid-class");
        require(dec_ <= type(uint8).max, "IlkRegistry/invalid-dec");
        _push(ilk, Ilk(0, join_, gem_, uint8(dec_), uint96(class_), pip_, xlip_, name_, symbol_));
    }

    function _push(bytes32 ilk, Ilk memory data) internal {
        if (ilkData[ilk].class == 0) {
            ilks.push(ilk);
            data.pos = uint96(ilks.length - 1);
            emit AddIlk(ilk);
        } else {
            data.pos = ilkData[ilk].pos;
        }
        ilkData[ilk] = data;
    }

    function count() external view returns (uint256) {
        return ilks.length;
    }

    function list() external view returns (bytes32[] memory) {
        return ilks;
    }

    function get(uint256 pos_) external view returns (bytes32) {
        require(pos_ < ilks.length, "IlkRegistry/index-out-of-range");
        return ilks[pos_];
    }

    function info(bytes32 ilk)
        external
        view
        returns (string memory, string memory, uint256, uint256, address, address, address, address)
    {
        Ilk memory i = ilkData[ilk];
        return (i.name, i.symbol, i.class, i.dec, i.gem, i.pip, i.join, i.xlip);
    }

    function pos(bytes32 ilk) external view returns (uint256) {
        return ilkData[ilk].pos;
    }

    function class(bytes32 ilk) external view returns (uint256) {
        return ilkData[ilk].class;
    }

    function gem(bytes32 ilk) external view returns (address) {
        return ilkData[ilk].gem;
    }

    function pip(bytes32 ilk) external view returns (address) {
        return ilkData[ilk].pip;
    }

    function join(bytes32 ilk) external view returns (address) {
        return ilkData[ilk].join;
    }

    function xlip(bytes32 ilk) external view returns (address) {
        return ilkData[ilk].xlip;
    }

    function dec(bytes32 ilk) external view returns (uint256) {
        return ilkData[ilk].dec;
    }

    function symbol(bytes32 ilk) external view returns (string memory) {
        return ilkData[ilk].symbol;
    }

    function name(bytes32 ilk) external view returns (string memory) {
        return ilkData[ilk].name;
    }
}

/// @notice dss-cdp-manager's UrnHandler: the urn of one cdp, which lets the manager drive it.
contract MakerUrnHandler {
    constructor(address vat) {
        MakerVatLike(vat).hope(msg.sender);
    }
}

/// @notice DssCdpManager: `open` makes a cdp with its own urn (an UrnHandler) owned by `usr` (on mainnet,
///         the user's DSProxy); the owner, or whom it allows, drives the urn through the manager.
contract MakerCdpManager {
    address public immutable vat;
    uint256 public cdpi;
    mapping(uint256 => address) public urns;
    mapping(uint256 => address) public owns;
    mapping(uint256 => bytes32) public ilks;
    mapping(address => uint256) public count;
    mapping(address => mapping(uint256 => mapping(address => uint256))) public cdpCan;

    event NewCdp(address indexed usr, address indexed own, uint256 indexed cdp);

    constructor(address vat_) {
        vat = vat_;
    }

    modifier cdpAllowed(uint256 cdp) {
        require(msg.sender == owns[cdp] || cdpCan[owns[cdp]][cdp][msg.sender] == 1, "cdp-not-allowed");
        _;
    }

    function cdpAllow(uint256 cdp, address usr, uint256 ok) external cdpAllowed(cdp) {
        cdpCan[owns[cdp]][cdp][usr] = ok;
    }

    function open(bytes32 ilk, address usr) external returns (uint256) {
        require(usr != address(0), "usr-address-0");
        cdpi = cdpi + 1;
        urns[cdpi] = address(new MakerUrnHandler(vat));
        owns[cdpi] = usr;
        ilks[cdpi] = ilk;
        count[usr] = count[usr] + 1;
        emit NewCdp(msg.sender, usr, cdpi);
        return cdpi;
    }

    function give(uint256 cdp, address dst) external cdpAllowed(cdp) {
        require(dst != address(0), "dst-address-0");
        require(dst != owns[cdp], "dst-already-owner");
        count[owns[cdp]] = count[owns[cdp]] - 1;
        owns[cdp] = dst;
        count[dst] = count[dst] + 1;
    }

    function frob(uint256 cdp, int256 dink, int256 dart) external cdpAllowed(cdp) {
        address urn = urns[cdp];
        MakerVatLike(vat).frob(ilks[cdp], urn, urn, urn, dink, dart);
    }

    function flux(uint256 cdp, address dst, uint256 wad) external cdpAllowed(cdp) {
        MakerVatLike(vat).flux(ilks[cdp], urns[cdp], dst, wad);
    }

    function move(uint256 cdp, address dst, uint256 rad) external cdpAllowed(cdp) {
        MakerVatLike(vat).move(urns[cdp], dst, rad);
    }
}

/// @notice DSProxy: its owner executes code at `target` by delegatecall, in the proxy's name.
contract MakerDSProxy {
    address public owner;

    event LogSetOwner(address indexed owner);

    constructor() {
        owner = msg.sender;
        emit LogSetOwner(msg.sender);
    }

    function setOwner(address owner_) external {
        require(msg.sender == owner, "ds-auth-unauthorized");
        owner = owner_;
        emit LogSetOwner(owner_);
    }

    function execute(address target, bytes calldata data) external payable returns (bytes memory response) {
        require(msg.sender == owner, "ds-auth-unauthorized");
        require(target != address(0), "ds-proxy-target-address-required");
        bool ok;
        (ok, response) = target.delegatecall(data);
        if (!ok) {
            assembly {
                revert(add(response, 32), mload(response))
            }
        }
    }
}

/// @notice DssProxyActions' gem-vault functions, run inside a DSProxy: the proxy owns the cdp, pulls the
///         gem from its owner, and pays the DAI to (or takes it from) the owner.
contract MakerProxyActions {
    uint256 internal constant RAY = 10 ** 27;

    function _toInt(uint256 x) internal pure returns (int256 y) {
        y = int256(x);
        require(y >= 0, "int-overflow");
    }

    function _to18(address gemJoin, uint256 amt) internal view returns (uint256) {
        return amt * 10 ** (18 - MakerJoinLike(gemJoin).dec());
    }

    function _gemJoin(address gemJoin, address urn, uint256 amt, bool transferFrom) internal {
        IERC20Metadata token = IERC20Metadata(MakerJoinLike(gemJoin).gem());
        if (transferFrom) {
            require(token.transferFrom(msg.sender, address(this), amt), "transfer-failed");
            token.approve(gemJoin, amt);
        }
        MakerJoinLike(gemJoin).join(urn, amt);
    }

    /// @dev The dart that draws exactly `wad` DAI after `jug.drip` (rounded up, as DssProxyActions does).
    function _drawDart(address vat, address jug, address urn, bytes32 ilk, uint256 wad) internal returns (int256 dart) {
        uint256 rate = MakerJugLike(jug).drip(ilk);
        uint256 dai = MakerVatLike(vat).dai(urn);
        if (dai < wad * RAY) {
            dart = _toInt((wad * RAY - dai) / rate);
            dart = uint256(dart) * rate < wad * RAY ? dart + 1 : dart;
        }
    }

    function open(address manager, bytes32 ilk, address usr) public returns (uint256 cdp) {
        cdp = MakerCdpManager(manager).open(ilk, usr);
    }

    function lockGemAndDraw(
        address manager,
        address jug,
        address gemJoin,
        address daiJoin,
        uint256 cdp,
        uint256 amtC,
        uint256 wadD,
        bool transferFrom
    ) public {
        _gemJoin(gemJoin, MakerCdpManager(manager).urns(cdp), amtC, transferFrom);
        _frobDraw(manager, jug, cdp, _toInt(_to18(gemJoin, amtC)), wadD);
        _exitDai(manager, daiJoin, wadD);
    }

    function _frobDraw(address manager, address jug, uint256 cdp, int256 dink, uint256 wadD) internal {
        MakerCdpManager m = MakerCdpManager(manager);
        int256 dart = _drawDart(m.vat(), jug, m.urns(cdp), m.ilks(cdp), wadD);
        m.frob(cdp, dink, dart);
        m.move(cdp, address(this), wadD * RAY);
    }

    function _exitDai(address manager, address daiJoin, uint256 wadD) internal {
        address vat = MakerCdpManager(manager).vat();
        if (MakerVatLike(vat).can(address(this), daiJoin) == 0) MakerVatLike(vat).hope(daiJoin);
        MakerDaiJoinLike(daiJoin).exit(msg.sender, wadD);
    }

    function openLockGemAndDraw(
        address manager,
        address jug,
        address gemJoin,
        address daiJoin,
        bytes32 ilk,
        uint256 amtC,
        uint256 wadD,
        bool transferFrom
    ) external returns (uint256 cdp) {
        cdp = open(manager, ilk, address(this));
        lockGemAndDraw(manager, jug, gemJoin, daiJoin, cdp, amtC, wadD, transferFrom);
    }

    /// @dev Repays the whole debt (DAI pulled from the owner, rounded up to the wad) and frees `amtC`.
    function wipeAllAndFreeGem(address manager, address gemJoin, address daiJoin, uint256 cdp, uint256 amtC)
        external
    {
        MakerCdpManager m = MakerCdpManager(manager);
        address vat = m.vat();
        address urn = m.urns(cdp);
        bytes32 ilk = m.ilks(cdp);
        (, uint256 art) = MakerVatLike(vat).urns(ilk, urn);
        (, uint256 rate,,,) = MakerVatLike(vat).ilks(ilk);
        uint256 rad = art * rate - MakerVatLike(vat).dai(urn);
        uint256 wad = rad / RAY;
        wad = wad * RAY < rad ? wad + 1 : wad;
        IERC20Metadata dai = IERC20Metadata(MakerDaiJoinLike(daiJoin).dai());
        require(dai.transferFrom(msg.sender, address(this), wad), "transfer-failed");
        dai.approve(daiJoin, wad);
        MakerDaiJoinLike(daiJoin).join(urn, wad);
        uint256 wadC = _to18(gemJoin, amtC);
        m.frob(cdp, -_toInt(wadC), -_toInt(art));
        m.flux(cdp, address(this), wadC);
        MakerJoinLike(gemJoin).exit(msg.sender, amtC);
    }
}

/// @notice DssLitePsm: sells DAI for the gem 1:1 (less `tin`), the gem going to the `pocket`; DAI is minted
///         ahead of demand by `fill` against the PSM's own urn (its ink set huge at onboarding, as on mainnet).
contract MakerLitePsm is MakerWards {
    uint256 internal constant WAD = 10 ** 18;
    uint256 internal constant RAY = 10 ** 27;

    bytes32 public immutable ilk;
    MakerVatLike public immutable vat;
    MakerDaiJoinLike public immutable daiJoin;
    IERC20Metadata public immutable dai;
    IERC20Metadata public immutable gem;
    uint256 public immutable to18ConversionFactor;
    address public immutable pocket;
    uint256 public tin;
    uint256 public buf;
    mapping(address => uint256) public bud;

    event SellGem(address indexed owner, uint256 value, uint256 fee);
    event Fill(uint256 wad);

    constructor(bytes32 ilk_, address gem_, address daiJoin_, address pocket_) {
        ilk = ilk_;
        gem = IERC20Metadata(gem_);
        daiJoin = MakerDaiJoinLike(daiJoin_);
        vat = MakerVatLike(daiJoin.vat());
        dai = IERC20Metadata(daiJoin.dai());
        pocket = pocket_;
        to18ConversionFactor = 10 ** (18 - gem.decimals());
        dai.approve(daiJoin_, type(uint256).max);
        vat.hope(daiJoin_);
    }

    function kiss(address usr) external auth {
        bud[usr] = 1;
    }

    function diss(address usr) external auth {
        bud[usr] = 0;
    }

    function file(bytes32 what, uint256 data) external auth {
        if (what == "tin") tin = data;
        else if (what == "buf") buf = data;
        else revert("DssLitePsm/file-unrecognized-param");
    }

    function sellGem(address usr, uint256 gemAmt) external returns (uint256 daiOutWad) {
        daiOutWad = gemAmt * to18ConversionFactor;
        uint256 fee = tin == 0 ? 0 : daiOutWad * tin / WAD;
        daiOutWad = daiOutWad - fee;
        require(gem.transferFrom(msg.sender, pocket, gemAmt), "DssLitePsm/gem-failed-transfer");
        require(dai.transfer(usr, daiOutWad), "DssLitePsm/dai-failed-transfer");
        emit SellGem(usr, gemAmt, fee);
    }

    /// @dev How much DAI `fill` may mint: up to the gem in the pocket plus `buf`, within the debt ceilings.
    function rush() public view returns (uint256 wad) {
        (uint256 Art, uint256 rate,, uint256 line,) = vat.ilks(ilk);
        require(rate == RAY, "DssLitePsm/rate-not-RAY");
        uint256 tArt = gem.balanceOf(pocket) * to18ConversionFactor + buf;
        wad = _min(_min(_subcap(tArt, Art), _subcap(line / RAY, Art)), _subcap(vat.Line(), vat.debt()) / RAY);
    }

    function fill() external returns (uint256 wad) {
        wad = rush();
        require(wad > 0, "DssLitePsm/nothing-to-fill");
        vat.frob(ilk, address(this), address(0), address(this), 0, int256(wad));
        daiJoin.exit(address(this), wad);
        emit Fill(wad);
    }

    function _min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    function _subcap(uint256 x, uint256 y) internal pure returns (uint256) {
        return x > y ? x - y : 0;
    }
}
