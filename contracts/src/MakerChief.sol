// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity 0.8.28;

/// ABI-, event- and behaviour-compatible stand-ins for Maker's governance (MCD_ADM, MCD_PAUSE, MCD_GOV, spells):
/// dapphub ds-chief 1.2 `chief.sol` (approval voting: lock/free MKR, etch slates, vote, lift the hat; the chief
/// is the authority of the pause, its hat the only caller it lets plot or drop), dapphub ds-pause `pause.sol`
/// (plot/drop/exec plans keyed by hash(usr, tag, fax, eta), run by delegatecall from the pause's proxy after
/// `delay`), ds-token `token.sol` (MKR and the chief's IOU), a DssSpell (schedule plots with eta = now + delay,
/// cast executes, `expiration` bounds scheduling) and dss-deploy's `GovActions` (the proxy-run action
/// library early MCD spells plotted). Every noted function logs ds-note's anonymous LogNote(sig, guy, foo, bar,
/// wad, fax) before its body, as ds-note does. Left out: DSRoles' role tables (only root, the hat, can call)
/// and ds-token's `stop`/`setName`.

interface DSAuthority {
    function canCall(address src, address dst, bytes4 sig) external view returns (bool);
}

abstract contract DSNote {
    event LogNote(
        bytes4 indexed sig, address indexed guy, bytes32 indexed foo, bytes32 indexed bar, uint256 wad, bytes fax
    ) anonymous;

    modifier note() {
        bytes32 foo;
        bytes32 bar;
        assembly {
            foo := calldataload(4)
            bar := calldataload(36)
        }
        // ds-note logs callvalue as `wad`; these functions are not payable, so it is always 0.
        emit LogNote(msg.sig, msg.sender, foo, bar, 0, msg.data);
        _;
    }
}

abstract contract DSAuth {
    event LogSetAuthority(address indexed authority);
    event LogSetOwner(address indexed owner);

    DSAuthority public authority;
    address public owner;

    constructor() {
        owner = msg.sender;
        emit LogSetOwner(msg.sender);
    }

    function setOwner(address owner_) public virtual auth {
        owner = owner_;
        emit LogSetOwner(owner);
    }

    function setAuthority(DSAuthority authority_) public virtual auth {
        authority = authority_;
        emit LogSetAuthority(address(authority));
    }

    modifier auth() {
        require(isAuthorized(msg.sender, msg.sig), "ds-auth-unauthorized");
        _;
    }

    function isAuthorized(address src, bytes4 sig) internal view returns (bool) {
        if (src == address(this) || src == owner) return true;
        if (address(authority) == address(0)) return false;
        return authority.canCall(src, address(this), sig);
    }
}

/// ds-token: MKR (MCD_GOV) and the chief's IOU. `symbol` and `name` are bytes32, as MKR's are.
contract DSToken is DSAuth, DSNote {
    event Approval(address indexed src, address indexed guy, uint256 wad);
    event Transfer(address indexed src, address indexed dst, uint256 wad);
    event Mint(address indexed guy, uint256 wad);
    event Burn(address indexed guy, uint256 wad);

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    bytes32 public symbol;
    uint256 public decimals = 18;
    bytes32 public name = "";

    constructor(bytes32 symbol_) {
        symbol = symbol_;
    }

    function approve(address guy, uint256 wad) public returns (bool) {
        allowance[msg.sender][guy] = wad;
        emit Approval(msg.sender, guy, wad);
        return true;
    }

    function transfer(address dst, uint256 wad) external returns (bool) {
        return transferFrom(msg.sender, dst, wad);
    }

    function transferFrom(address src, address dst, uint256 wad) public returns (bool) {
        if (src != msg.sender && allowance[src][msg.sender] != type(uint256).max) {
            require(allowance[src][msg.sender] >= wad, "ds-token-insufficient-approval");
            allowance[src][msg.sender] -= wad;
        }
        require(balanceOf[src] >= wad, "ds-token-insufficient-balance");
        balanceOf[src] -= wad;
        balanceOf[dst] += wad;
        emit Transfer(src, dst, wad);
        return true;
    }

    function push(address dst, uint256 wad) external {
        transferFrom(msg.sender, dst, wad);
    }

    function pull(address src, uint256 wad) external {
        transferFrom(src, msg.sender, wad);
    }

    function move(address src, address dst, uint256 wad) external {
        transferFrom(src, dst, wad);
    }

    function mint(address guy, uint256 wad) public auth {
        balanceOf[guy] += wad;
        totalSupply += wad;
        emit Mint(guy, wad);
    }

    function burn(address guy, uint256 wad) public auth {
        if (guy != msg.sender && allowance[guy][msg.sender] != type(uint256).max) {
            require(allowance[guy][msg.sender] >= wad, "ds-token-insufficient-approval");
            allowance[guy][msg.sender] -= wad;
        }
        require(balanceOf[guy] >= wad, "ds-token-insufficient-balance");
        balanceOf[guy] -= wad;
        totalSupply -= wad;
        emit Burn(guy, wad);
    }
}

/// ds-chief 1.2: DSChiefApprovals with DSRoles' root check (`isUserRoot`: the hat, once launched).
contract DSChief is DSAuth, DSNote, DSAuthority {
    event Etch(bytes32 indexed slate);

    uint256 internal constant LAUNCH_THRESHOLD = 80_000 * 10 ** 18;

    mapping(bytes32 => address[]) public slates;
    mapping(address => bytes32) public votes;
    mapping(address => uint256) public approvals;
    mapping(address => uint256) public deposits;
    mapping(address => uint256) public last;
    DSToken public GOV;
    DSToken public IOU;
    address public hat;
    uint256 public MAX_YAYS;
    uint256 public live;

    constructor(DSToken gov_, DSToken iou_, uint256 maxYays_) {
        GOV = gov_;
        IOU = iou_;
        MAX_YAYS = maxYays_;
        authority = this;
        owner = address(0);
    }

    function setOwner(address) public pure override {
        revert();
    }

    function setAuthority(DSAuthority) public pure override {
        revert();
    }

    function launch() external note {
        require(live == 0, "ds-chief-already-live");
        require(hat == address(0) && approvals[address(0)] >= LAUNCH_THRESHOLD, "ds-chief-not-enough-approval");
        live = 1;
    }

    function lock(uint256 wad) external note {
        last[msg.sender] = block.number;
        GOV.pull(msg.sender, wad);
        IOU.mint(msg.sender, wad);
        deposits[msg.sender] += wad;
        _addWeight(wad, votes[msg.sender]);
    }

    /// The block of a lock cannot free it (ds-chief 1.2's flash-loan guard).
    function free(uint256 wad) external note {
        require(block.number > last[msg.sender], "ds-chief-cannot-free-in-same-block");
        deposits[msg.sender] -= wad;
        _subWeight(wad, votes[msg.sender]);
        IOU.burn(msg.sender, wad);
        GOV.push(msg.sender, wad);
    }

    function etch(address[] memory yays) public note returns (bytes32 slate) {
        require(yays.length <= MAX_YAYS, "ds-chief-too-many-yays");
        _requireByOrderSet(yays);
        slate = keccak256(abi.encodePacked(yays));
        slates[slate] = yays;
        emit Etch(slate);
    }

    /// Both inner calls note, with this call's sig and calldata (internal calls keep msg.data).
    function vote(address[] memory yays) external returns (bytes32 slate) {
        slate = etch(yays);
        vote(slate);
    }

    function vote(bytes32 slate) public note {
        require(slates[slate].length > 0 || slate == keccak256(abi.encodePacked(new address[](0))), "ds-chief-invalid-slate");
        uint256 weight = deposits[msg.sender];
        _subWeight(weight, votes[msg.sender]);
        votes[msg.sender] = slate;
        _addWeight(weight, slate);
    }

    function lift(address whom) external note {
        require(approvals[whom] > approvals[hat], "ds-chief-not-enough-approval");
        hat = whom;
    }

    function isUserRoot(address who) public view returns (bool) {
        return live == 1 && who == hat;
    }

    function canCall(address caller, address, bytes4) external view returns (bool) {
        return isUserRoot(caller);
    }

    function _addWeight(uint256 weight, bytes32 slate) internal {
        address[] storage yays = slates[slate];
        for (uint256 i = 0; i < yays.length; i++) {
            approvals[yays[i]] += weight;
        }
    }

    function _subWeight(uint256 weight, bytes32 slate) internal {
        address[] storage yays = slates[slate];
        for (uint256 i = 0; i < yays.length; i++) {
            approvals[yays[i]] -= weight;
        }
    }

    function _requireByOrderSet(address[] memory yays) internal pure {
        for (uint256 i = 1; i < yays.length; i++) {
            require(uint160(yays[i]) > uint160(yays[i - 1]), "ds-chief-yays-not-ordered");
        }
    }
}

/// ds-pause's proxy: the address that holds the system's wards; runs a plan's `fax` by delegatecall.
contract DSPauseProxy {
    address public owner;

    constructor() {
        owner = msg.sender;
    }

    function exec(address usr, bytes memory fax) external returns (bytes memory out) {
        require(msg.sender == owner, "ds-pause-proxy-unauthorized");
        bool ok;
        (ok, out) = usr.delegatecall(fax);
        require(ok, "ds-pause-delegatecall-error");
    }
}

contract DSPause is DSAuth, DSNote {
    mapping(bytes32 => bool) public plans;
    DSPauseProxy public proxy;
    uint256 public delay;

    constructor(uint256 delay_, address owner_, DSAuthority authority_) {
        delay = delay_;
        owner = owner_;
        authority = authority_;
        proxy = new DSPauseProxy();
    }

    /// Admin changes go through the pause itself: only its proxy (a plan being executed) may make them.
    modifier wait() {
        require(msg.sender == address(proxy), "ds-pause-undelayed-call");
        _;
    }

    function setOwner(address owner_) public override wait {
        owner = owner_;
        emit LogSetOwner(owner);
    }

    function setAuthority(DSAuthority authority_) public override wait {
        authority = authority_;
        emit LogSetAuthority(address(authority));
    }

    function setDelay(uint256 delay_) external note wait {
        delay = delay_;
    }

    function _hash(address usr, bytes32 tag, bytes memory fax, uint256 eta) internal pure returns (bytes32) {
        return keccak256(abi.encode(usr, tag, fax, eta));
    }

    function plot(address usr, bytes32 tag, bytes memory fax, uint256 eta) external note auth {
        require(eta >= block.timestamp + delay, "ds-pause-delay-not-respected");
        plans[_hash(usr, tag, fax, eta)] = true;
    }

    function drop(address usr, bytes32 tag, bytes memory fax, uint256 eta) external note auth {
        plans[_hash(usr, tag, fax, eta)] = false;
    }

    function exec(address usr, bytes32 tag, bytes memory fax, uint256 eta) external note returns (bytes memory out) {
        bytes32 plan = _hash(usr, tag, fax, eta);
        require(plans[plan], "ds-pause-unplotted-plan");
        require(usr.codehash == tag, "ds-pause-wrong-codehash");
        require(block.timestamp >= eta, "ds-pause-premature-exec");
        plans[plan] = false;
        out = proxy.exec(usr, fax);
        require(proxy.owner() == address(this), "ds-pause-illegal-storage-change");
    }
}

/// A DssSpell as MCD's spells were written before DssExec: its action is plotted in the pause by `schedule()`
/// (once its address is the chief's hat) and run by `cast()` once the pause's delay has passed.
contract DssSpell {
    DSPause public pause;
    address public action;
    bytes32 public tag;
    uint256 public eta;
    bytes public sig;
    uint256 public expiration;
    bool public done;
    string public description;

    constructor(DSPause pause_, address action_, bytes memory sig_, uint256 expiration_, string memory description_) {
        pause = pause_;
        action = action_;
        sig = sig_;
        expiration = expiration_;
        description = description_;
        tag = action_.codehash;
    }

    function schedule() external {
        require(block.timestamp <= expiration, "This contract has expired");
        require(eta == 0, "This spell has already been scheduled");
        eta = block.timestamp + pause.delay();
        pause.plot(action, tag, sig, eta);
    }

    function cast() external {
        require(!done, "spell-already-cast");
        done = true;
        pause.exec(action, tag, sig, eta);
    }
}

interface MakerFileable {
    function file(bytes32 what, uint256 data) external;
    function file(bytes32 ilk, bytes32 what, uint256 data) external;
    function drip(bytes32 ilk) external returns (uint256);
    function rely(address usr) external;
    function deny(address usr) external;
}

/// dss-deploy's GovActions: run by the pause proxy (delegatecall), so every call below is the proxy's.
contract GovActions {
    function file(address who, bytes32 what, uint256 data) external {
        MakerFileable(who).file(what, data);
    }

    function file(address who, bytes32 ilk, bytes32 what, uint256 data) external {
        MakerFileable(who).file(ilk, what, data);
    }

    /// The Jug refuses a new duty unless the ilk was dripped in the same block.
    function dripAndFile(address who, bytes32 ilk, bytes32 what, uint256 data) external {
        MakerFileable(who).drip(ilk);
        MakerFileable(who).file(ilk, what, data);
    }

    function rely(address who, address to) external {
        MakerFileable(who).rely(to);
    }

    function deny(address who, address to) external {
        MakerFileable(who).deny(to);
    }
}
