# pragma version 0.4.3
"""
@title CurvePoolProxy
@notice defiscope's replica of the admin part of Curve's PoolProxy (mainnet 0xeCb456EA5365865EbAb8a2661B0c503410e9B347,
        the owner of the registry's StableSwap pools such as 3pool). Facts from curvefi/curve-dao-contracts
        contracts/PoolProxy.vy: three admins with public getters (ownership, parameter, emergency); commit_set_admins
        then apply_set_admins, both by the ownership admin, with no delay between them; a pool's ownership transfer
        is committed and reverted by the ownership admin, applied by anyone (the pool's own 3-day delay applies);
        ramp_A and stop_ramp_A are the parameter admin's.
@dev Only the control functions are replicated. Burners, admin-fee withdrawal, kill_me / unkill_me and the
     commit_new_parameters / fee functions are left out: the devnet's pools do not have them.
"""

interface Pool:
    def commit_transfer_ownership(_owner: address): nonpayable
    def apply_transfer_ownership(): nonpayable
    def revert_transfer_ownership(): nonpayable
    def ramp_A(_future_A: uint256, _future_time: uint256): nonpayable
    def stop_ramp_A(): nonpayable

event CommitAdmins:
    ownership_admin: address
    parameter_admin: address
    emergency_admin: address

event ApplyAdmins:
    ownership_admin: address
    parameter_admin: address
    emergency_admin: address

ownership_admin: public(address)
parameter_admin: public(address)
emergency_admin: public(address)

future_ownership_admin: public(address)
future_parameter_admin: public(address)
future_emergency_admin: public(address)


@deploy
def __init__(_ownership_admin: address, _parameter_admin: address, _emergency_admin: address):
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
def commit_transfer_ownership(_pool: address, new_owner: address):
    """Name ``_pool``'s next owner (the pool applies it no sooner than its own delay)."""
    assert msg.sender == self.ownership_admin, "Access denied"
    extcall Pool(_pool).commit_transfer_ownership(new_owner)


@external
@nonreentrant
def apply_transfer_ownership(_pool: address):
    """Anyone may apply a committed transfer once the pool's delay has passed."""
    extcall Pool(_pool).apply_transfer_ownership()


@external
@nonreentrant
def revert_transfer_ownership(_pool: address):
    assert msg.sender == self.ownership_admin, "Access denied"
    extcall Pool(_pool).revert_transfer_ownership()


@external
@nonreentrant
def ramp_A(_pool: address, _future_A: uint256, _future_time: uint256):
    assert msg.sender == self.parameter_admin, "Access denied"
    extcall Pool(_pool).ramp_A(_future_A, _future_time)


@external
@nonreentrant
def stop_ramp_A(_pool: address):
    assert msg.sender == self.parameter_admin, "Access denied"
    extcall Pool(_pool).stop_ramp_A()
