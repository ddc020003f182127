# pragma version 0.4.3
"""
@title CurvePoolFactory
@notice defiscope's stand-in for Curve's pool factories' listing views (the stable, stable-ng, twocrypto-ng
        and tricrypto-ng factories): pool_count, pool_list(i), get_coins and get_balances with each real
        factory's output type, and for the stable ones get_n_coins, is_meta and get_base_pool. The real
        factories deploy pools from blueprints; on the devnet pools are deployed on their own and listed here by
        the admin (register_pool, a devnet-only hook). The admin is handed over in two steps, as every real one
        is: commit_transfer_ownership by the admin, accept_transfer_ownership by the successor (curvefi/curve-factory
        contracts/Factory.vy: no delay between them).
@dev build_vyper.py writes in the array types per factory (fixed address[4] / address[2] / address[3], or
     stable-ng's dynamic address[]) and drops the stable-only views from the crypto factories.
"""

interface Pool:
    def coins(i: uint256) -> address: view
    def balances(i: uint256) -> uint256: view

MAX_COINS: constant(uint256) = __MAX_COINS__

admin: public(address)
future_admin: public(address)
pool_count: public(uint256)
pool_list: public(HashMap[uint256, address])
n_coins_of: HashMap[address, uint256]
coins_of: HashMap[address, __COINS_T__]
base_pool_of: HashMap[address, address]


@deploy
def __init__(_admin: address):
    self.admin = _admin


@external
def commit_transfer_ownership(_addr: address):
    """Name the admin's successor; it takes over when it accepts (no delay, as the real factories have)."""
    assert msg.sender == self.admin, "admin only"
    self.future_admin = _addr


@external
def accept_transfer_ownership():
    """The successor named by commit_transfer_ownership becomes the admin."""
    assert msg.sender == self.future_admin, "future admin only"
    self.admin = msg.sender
    self.future_admin = empty(address)


@external
def register_pool(_pool: address, _n_coins: uint256, _base_pool: address):
    """Devnet-only: list a pool deployed on its own (its coins read from it); _base_pool for a metapool."""
    assert msg.sender == self.admin, "admin only"
    assert self.n_coins_of[_pool] == 0, "pool exists"
    assert _n_coins >= 2 and _n_coins <= MAX_COINS, "coin count"
    coins: __COINS_T__ = __NEW_COINS__
    for i: uint256 in range(MAX_COINS):
        if i == _n_coins:
            break
        coin: address = staticcall Pool(_pool).coins(i)
        __PUT_COIN__
    self.coins_of[_pool] = coins
    self.n_coins_of[_pool] = _n_coins
    self.base_pool_of[_pool] = _base_pool
    self.pool_list[self.pool_count] = _pool
    self.pool_count += 1


@view
@external
def get_coins(_pool: address) -> __COINS_T__:
    return self.coins_of[_pool]


@view
@external
def get_balances(_pool: address) -> __BALANCES_T__:
    balances: __BALANCES_T__ = __NEW_BALANCES__
    for i: uint256 in range(MAX_COINS):
        if i == self.n_coins_of[_pool]:
            break
        balance: uint256 = staticcall Pool(_pool).balances(i)
        __PUT_BALANCE__
    return balances
# begin stable


@view
@external
def get_n_coins(_pool: address) -> uint256:
    return self.n_coins_of[_pool]


@view
@external
def is_meta(_pool: address) -> bool:
    return self.base_pool_of[_pool] != empty(address)


@view
@external
def get_base_pool(_pool: address) -> address:
    return self.base_pool_of[_pool]
# end stable
