# pragma version 0.4.3
"""
@title CurveMainRegistry
@notice defiscope's stand-in for Curve's main registry (mainnet 0x90E00ACe148ca3b23Ac1bC8C240C2a7Dd9c2d7f5):
        pools added by the AddressProvider's admin with add_pool (coins read from the pool, decimals packed one
        byte per coin, the LP token given); views as the real one answers them: fixed address[8] / uint256[8]
        arrays padded with zeros, get_balances reading the pool's balances(i).
"""

interface AddressProvider:
    def admin() -> address: view

interface Pool:
    def coins(i: uint256) -> address: view
    def balances(i: uint256) -> uint256: view

MAX_COINS: constant(uint256) = 8


struct PoolData:
    n_coins: uint256
    coins: address[MAX_COINS]
    decimals: uint256[MAX_COINS]
    name: String[64]


event PoolAdded:
    pool: indexed(address)
    rate_method_id: Bytes[4]


address_provider: public(address)
pool_count: public(uint256)
pool_list: public(HashMap[uint256, address])
get_lp_token: public(HashMap[address, address])
get_pool_from_lp_token: public(HashMap[address, address])
pool_data: HashMap[address, PoolData]


@deploy
def __init__(_address_provider: address):
    self.address_provider = _address_provider


@external
def add_pool(
    _pool: address,
    _n_coins: uint256,
    _lp_token: address,
    _rate_info: bytes32,
    _decimals: uint256,
    _underlying_decimals: uint256,
    _has_initial_A: bool,
    _is_v1: bool,
    _name: String[64],
):
    assert msg.sender == staticcall AddressProvider(self.address_provider).admin(), "admin only"
    assert self.get_lp_token[_pool] == empty(address), "pool exists"
    assert _n_coins >= 2 and _n_coins <= MAX_COINS, "coin count"
    data: PoolData = PoolData(n_coins=_n_coins, coins=empty(address[MAX_COINS]), decimals=empty(uint256[MAX_COINS]), name=_name)
    for i: uint256 in range(MAX_COINS):
        if i == _n_coins:
            break
        data.coins[i] = staticcall Pool(_pool).coins(i)
        data.decimals[i] = (_decimals >> (8 * i)) & 255
    self.pool_data[_pool] = data
    self.get_lp_token[_pool] = _lp_token
    self.get_pool_from_lp_token[_lp_token] = _pool
    self.pool_list[self.pool_count] = _pool
    self.pool_count += 1
    log PoolAdded(pool=_pool, rate_method_id=slice(_rate_info, 0, 4))


@view
@external
def get_n_coins(_pool: address) -> uint256[2]:
    n: uint256 = self.pool_data[_pool].n_coins
    return [n, n]


@view
@external
def get_coins(_pool: address) -> address[MAX_COINS]:
    return self.pool_data[_pool].coins


@view
@external
def get_decimals(_pool: address) -> uint256[MAX_COINS]:
    return self.pool_data[_pool].decimals


@view
@external
def get_balances(_pool: address) -> uint256[MAX_COINS]:
    balances: uint256[MAX_COINS] = empty(uint256[MAX_COINS])
    for i: uint256 in range(MAX_COINS):
        if i == self.pool_data[_pool].n_coins:
            break
        balances[i] = staticcall Pool(_pool).balances(i)
    return balances
