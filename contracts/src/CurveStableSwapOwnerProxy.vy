# pragma version 0.4.3
"""
@title CurveStableSwapOwnerProxy
@notice defiscope's replica of Curve's StableSwap Owner Proxy (mainnet 0x742C3cF9Af45f91B109a81EfEaf11535ECDe9571,
        the admin of the old stable factory 0xB9fC157394Af804a3578134A6585C0dc9cc990d4). Facts from
        curvefi/curve-factory contracts/OwnerProxy.vy, the version with the FACTORY and OLD_MANAGER_PROXY
        immutables that the deployed one is (its deploy_plain_pool takes an eighth argument, ma_exp_time, as
        callers of 0x742C pass it; also curvefi/curve-stablecoin curve_stablecoin/factory/OwnerProxy.vy): three admins, each a public getter; commit_set_admins then apply_set_admins,
        both by the ownership admin (no delay between them: the ownership admin replaces all three at once);
        the factory's admin calls and its ownership transfer are the ownership admin's, accepting a transfer is
        anyone's; the pools' A ramp is the parameter admin's, stopping one the parameter or emergency admin's.
@dev Only the control functions are replicated (the ABI subset the control reads and the devnet use). Pool and
     gauge deployment, fees, gauge rewards and whitelists are left out: the devnet's factory stand-in lists pools
     deployed on their own.
"""

interface Pool:
    def ramp_A(_future_A: uint256, _future_time: uint256): nonpayable
    def stop_ramp_A(): nonpayable

interface Factory:
    def commit_transfer_ownership(_addr: address): nonpayable
    def accept_transfer_ownership(): nonpayable

event CommitAdmins:
    ownership_admin: address
    parameter_admin: address
    emergency_admin: address

event ApplyAdmins:
    ownership_admin: address
    parameter_admin: address
    emergency_admin: address

FACTORY: public(immutable(address))
OLD_MANAGER_PROXY: public(immutable(address))

ownership_admin: public(address)
parameter_admin: public(address)
emergency_admin: public(address)

future_ownership_admin: public(address)
future_parameter_admin: public(address)
future_emergency_admin: public(address)


@deploy
def __init__(
    _ownership_admin: address,
    _parameter_admin: address,
    _emergency_admin: address,
    _factory: address,
    _old_manager_proxy: address,
):
    FACTORY = _factory
    OLD_MANAGER_PROXY = _old_manager_proxy
    self.ownership_admin = _ownership_admin
    self.parameter_admin = _parameter_admin
    self.emergency_admin = _emergency_admin


@external
def commit_set_admins(_o_admin: address, _p_admin: address, _e_admin: address):
    """The three admins that apply_set_admins will set."""
    assert msg.sender == self.ownership_admin, "Access denied"
    self.future_ownership_admin = _o_admin
    self.future_parameter_admin = _p_admin
    self.future_emergency_admin = _e_admin
    log CommitAdmins(ownership_admin=_o_admin, parameter_admin=_p_admin, emergency_admin=_e_admin)


@external
def apply_set_admins():
    """The committed admins take over, at once."""
    assert msg.sender == self.ownership_admin, "Access denied"
    o_admin: address = self.future_ownership_admin
    p_admin: address = self.future_parameter_admin
    e_admin: address = self.future_emergency_admin
    self.ownership_admin = o_admin
    self.parameter_admin = p_admin
    self.emergency_admin = e_admin
    log ApplyAdmins(ownership_admin=o_admin, parameter_admin=p_admin, emergency_admin=e_admin)


@external
@nonreentrant
def ramp_A(_pool: address, _future_A: uint256, _future_time: uint256):
    assert msg.sender == self.parameter_admin, "Access denied"
    extcall Pool(_pool).ramp_A(_future_A, _future_time)


@external
@nonreentrant
def stop_ramp_A(_pool: address):
    assert msg.sender == self.parameter_admin or msg.sender == self.emergency_admin, "Access denied"
    extcall Pool(_pool).stop_ramp_A()


@external
def commit_transfer_ownership(_target: address, _new_admin: address):
    """Name the successor of this proxy as ``_target``'s admin."""
    assert msg.sender == self.ownership_admin, "Access denied"
    extcall Factory(_target).commit_transfer_ownership(_new_admin)


@external
def accept_transfer_ownership(_target: address):
    """Accept ``_target``'s admin, committed to this proxy (anyone may call it)."""
    extcall Factory(_target).accept_transfer_ownership()
