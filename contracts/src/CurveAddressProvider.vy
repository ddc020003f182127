# pragma version 0.4.3
"""
@title CurveAddressProvider
@notice defiscope's stand-in for Curve's AddressProvider (mainnet 0x0000000022D53366457F9d5E68Ec105046FC4383):
        numbered ids that name Curve's contracts, id 0 the main registry ("Main Registry", created empty and
        set by the admin). Only the admin adds or changes an id; every address set must be a contract. The admin
        hands over as mainnet's does: commit_transfer_ownership, then apply_transfer_ownership by the admin three
        days later (revert_transfer_ownership cancels). Mainnet's admin is Curve's Ownership Agent.
"""

struct AddressInfo:
    addr: address
    is_active: bool
    version: uint256
    last_modified: uint256
    description: String[64]


event NewAddressIdentifier:
    id: indexed(uint256)
    addr: address
    description: String[64]


event AddressModified:
    id: indexed(uint256)
    new_address: address
    version: uint256


event CommitNewAdmin:
    deadline: indexed(uint256)
    admin: indexed(address)


event NewAdmin:
    admin: indexed(address)


ADMIN_ACTIONS_DELAY: constant(uint256) = 3 * 86400

admin: public(address)
transfer_ownership_deadline: public(uint256)
future_admin: public(address)
next_id: uint256
infos: HashMap[uint256, AddressInfo]


@deploy
def __init__(_admin: address):
    self.admin = _admin
    self.infos[0].description = "Main Registry"
    self.next_id = 1


@view
@external
def get_registry() -> address:
    return self.infos[0].addr


@view
@external
def max_id() -> uint256:
    return self.next_id - 1


@view
@external
def get_address(_id: uint256) -> address:
    return self.infos[_id].addr


@external
def add_new_id(_address: address, _description: String[64]) -> uint256:
    assert msg.sender == self.admin, "admin only"
    assert _address.is_contract, "not a contract"
    id: uint256 = self.next_id
    self.infos[id] = AddressInfo(
        addr=_address, is_active=True, version=1, last_modified=block.timestamp, description=_description
    )
    self.next_id = id + 1
    log NewAddressIdentifier(id=id, addr=_address, description=_description)
    return id


@external
def set_address(_id: uint256, _address: address) -> bool:
    assert msg.sender == self.admin, "admin only"
    assert _address.is_contract, "not a contract"
    assert _id < self.next_id, "unknown id"
    version: uint256 = self.infos[_id].version + 1
    self.infos[_id].addr = _address
    self.infos[_id].is_active = True
    self.infos[_id].version = version
    self.infos[_id].last_modified = block.timestamp
    log AddressModified(id=_id, new_address=_address, version=version)
    return True


@external
def unset_address(_id: uint256) -> bool:
    assert msg.sender == self.admin, "admin only"
    assert self.infos[_id].is_active, "not active"
    self.infos[_id].is_active = False
    self.infos[_id].addr = empty(address)
    self.infos[_id].last_modified = block.timestamp
    log AddressModified(id=_id, new_address=empty(address), version=self.infos[_id].version)
    return True


@external
def commit_transfer_ownership(_new_admin: address) -> bool:
    assert msg.sender == self.admin, "admin only"
    assert self.transfer_ownership_deadline == 0, "transfer already active"
    deadline: uint256 = block.timestamp + ADMIN_ACTIONS_DELAY
    self.transfer_ownership_deadline = deadline
    self.future_admin = _new_admin
    log CommitNewAdmin(deadline=deadline, admin=_new_admin)
    return True


@external
def apply_transfer_ownership() -> bool:
    assert msg.sender == self.admin, "admin only"
    assert self.transfer_ownership_deadline != 0, "transfer not active"
    assert block.timestamp >= self.transfer_ownership_deadline, "now < deadline"
    new_admin: address = self.future_admin
    self.admin = new_admin
    self.transfer_ownership_deadline = 0
    log NewAdmin(admin=new_admin)
    return True


@external
def revert_transfer_ownership() -> bool:
    assert msg.sender == self.admin, "admin only"
    self.transfer_ownership_deadline = 0
    return True
