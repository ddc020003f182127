# pragma version 0.4.3
"""
@title CurveStableSwap
@notice defiscope's own Curve StableSwap plain pool for the devnet: the classic pool ABI (coins, balances, A,
        get_dy, exchange, add_liquidity, remove_liquidity, remove_liquidity_one_coin, calc_token_amount,
        calc_withdraw_one_coin, get_virtual_price, fee, admin_fee, ramp_A) with Curve's StableSwap math:
        A kept times A_PRECISION = 100, rate multipliers 10**(36 - decimals) for mixed decimals, the swap fee
        and admin share in 1e10 units, the imbalance fee fee * N / (4 * (N - 1)) on deposits, and A ramping.
        The pool is its own LP token (ERC20, 18 decimals).
        It replicates the stable factory's plain pools (Plain{2,3,4}Basic; Plain2ETH when coin 0 is native ETH,
        0xEeee...EEeE, sent as msg.value and paid out as ether).
        Its admin is either mainnet's: a registry pool's (curvefi/curve-contract contracts/pools/3pool/
        StableSwap3Pool.vy) is its own public ``owner``, handed over in two steps, commit_transfer_ownership then
        apply_transfer_ownership by the owner no sooner than ADMIN_ACTIONS_DELAY (3 days) later, or
        revert_transfer_ownership, the events CommitNewAdmin / NewAdmin; a factory pool's (curvefi/curve-factory
        contracts/implementations/plain-*/Plain*Basic.vy) is its factory's ``admin()``, read at each ramp_A /
        stop_ramp_A: such a pool has no owner of its own (owner() reverts here, as the real ones lack it).
        Fees, kill_me and admin-fee withdrawal are not replicated.
@dev The coin count and the native-ETH switch are written in by contracts/build_vyper.py, which compiles
     one artifact per pool size (2, 3, 4) and the native-ETH variant (payable exchange and add_liquidity).
     The invariant, for xp_i = balance_i * rate_i / 1e18:
         A * n**n * sum(xp_i) + D = A * n**n * D + D**(n + 1) / (n**n * prod(xp_i))
"""

from ethereum.ercs import IERC20

N_COINS: constant(uint256) = __N_COINS__

PRECISION: constant(uint256) = 10**18
FEE_DENOMINATOR: constant(uint256) = 10**10
A_PRECISION: constant(uint256) = 100
MAX_A: constant(uint256) = 10**6
MAX_A_CHANGE: constant(uint256) = 10
MIN_RAMP_TIME: constant(uint256) = 86400
MAX_FEE: constant(uint256) = 5 * 10**9
MAX_ITERATIONS: constant(uint256) = 255
ETH_ADDRESS: constant(address) = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event TokenExchange:
    buyer: indexed(address)
    sold_id: int128
    tokens_sold: uint256
    bought_id: int128
    tokens_bought: uint256

event AddLiquidity:
    provider: indexed(address)
    token_amounts: uint256[N_COINS]
    fees: uint256[N_COINS]
    invariant: uint256
    token_supply: uint256

event RemoveLiquidity:
    provider: indexed(address)
    token_amounts: uint256[N_COINS]
    fees: uint256[N_COINS]
    token_supply: uint256

event RemoveLiquidityOne:
    provider: indexed(address)
    token_amount: uint256
    coin_amount: uint256
    token_supply: uint256

event RampA:
    old_A: uint256
    new_A: uint256
    initial_time: uint256
    future_time: uint256

event StopRampA:
    A: uint256
    t: uint256

event CommitNewAdmin:
    deadline: indexed(uint256)
    admin: indexed(address)

event NewAdmin:
    admin: indexed(address)

interface Factory:
    def admin() -> address: view

ADMIN_ACTIONS_DELAY: constant(uint256) = 3 * 86400

coins: public(address[N_COINS])
balances: public(uint256[N_COINS])  # what LPs own; the coins' balanceOf(self) also holds the admin fees
RATES: immutable(uint256[N_COINS])
fee: public(uint256)
admin_fee: public(uint256)
pool_owner: address  # a registry pool's: may ramp A and hand itself over; empty for a factory pool
future_owner: public(address)
transfer_ownership_deadline: public(uint256)
pool_factory: address  # a factory pool's: its admin() may ramp A; empty for a registry pool

initial_A: public(uint256)
future_A: public(uint256)
initial_A_time: public(uint256)
future_A_time: public(uint256)

# The LP token.
name: public(String[64])
symbol: public(String[32])
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__(
    _coins: address[N_COINS],
    _rates: uint256[N_COINS],
    _A: uint256,
    _fee: uint256,
    _admin_fee: uint256,
    _name: String[64],
    _symbol: String[32],
    _owner: address,
    _factory: address,
):
    """
    @param _rates 10**(36 - decimals) per coin: scales every balance to 18 decimals, times 1e18
    @param _A the amplification coefficient (not multiplied by A_PRECISION)
    @param _fee swap fee in 1e10 units (4000000 = 0.04 %); _admin_fee the admin share in 1e10 units
    @param _owner a registry pool's owner (its constructor's ``_owner``, as 3pool's), else empty
    @param _factory a factory pool's factory (on mainnet the deployer, ``self.factory = msg.sender``), else empty
    """
    assert (_owner == empty(address)) != (_factory == empty(address)), "an owner or a factory, not both"
    for i: uint256 in range(N_COINS):
        assert _coins[i] != empty(address), "coin is the zero address"
        assert _rates[i] > 0, "rate is zero"
    assert _A > 0 and _A < MAX_A, "A out of range"
    assert _fee <= MAX_FEE, "fee too high"
    assert _admin_fee <= FEE_DENOMINATOR, "admin fee too high"
    self.coins = _coins
    RATES = _rates
    self.initial_A = _A * A_PRECISION
    self.future_A = _A * A_PRECISION
    self.fee = _fee
    self.admin_fee = _admin_fee
    self.pool_owner = _owner
    self.pool_factory = _factory
    self.name = _name
    self.symbol = _symbol


# ------------------------------------------------------------------ LP token


@view
@external
def decimals() -> uint8:
    return 18


@internal
def _transfer(_from: address, _to: address, _value: uint256):
    self.balanceOf[_from] -= _value
    self.balanceOf[_to] += _value
    log Transfer(sender=_from, receiver=_to, value=_value)


@external
def transfer(_to: address, _value: uint256) -> bool:
    self._transfer(msg.sender, _to, _value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    allowed: uint256 = self.allowance[_from][msg.sender]
    if allowed != max_value(uint256):
        self.allowance[_from][msg.sender] = allowed - _value
    self._transfer(_from, _to, _value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)
    return True


@internal
def _mint(_to: address, _value: uint256):
    self.totalSupply += _value
    self.balanceOf[_to] += _value
    log Transfer(sender=empty(address), receiver=_to, value=_value)


@internal
def _burn(_from: address, _value: uint256):
    self.balanceOf[_from] -= _value
    self.totalSupply -= _value
    log Transfer(sender=_from, receiver=empty(address), value=_value)


# ------------------------------------------------------------------ amplification


@view
@internal
def _A() -> uint256:
    """A * A_PRECISION now: linear between (initial_A_time, initial_A) and (future_A_time, future_A)."""
    t1: uint256 = self.future_A_time
    A1: uint256 = self.future_A
    if block.timestamp >= t1:
        return A1
    A0: uint256 = self.initial_A
    t0: uint256 = self.initial_A_time
    # uint256 has no negatives, hence two branches
    if A1 > A0:
        return A0 + (A1 - A0) * (block.timestamp - t0) // (t1 - t0)
    return A0 - (A0 - A1) * (block.timestamp - t0) // (t1 - t0)


@view
@external
def A() -> uint256:
    return self._A() // A_PRECISION


@view
@external
def A_precise() -> uint256:
    return self._A()


@view
@internal
def _admin() -> address:
    if self.pool_factory != empty(address):
        return staticcall Factory(self.pool_factory).admin()
    return self.pool_owner


@view
@external
def owner() -> address:
    assert self.pool_factory == empty(address), "factory pool: no owner"
    return self.pool_owner


@external
def commit_transfer_ownership(_owner: address):
    """Name the next owner; apply_transfer_ownership makes it so ADMIN_ACTIONS_DELAY later."""
    assert msg.sender == self.pool_owner, "only owner"
    assert self.transfer_ownership_deadline == 0, "active transfer"
    deadline: uint256 = block.timestamp + ADMIN_ACTIONS_DELAY
    self.transfer_ownership_deadline = deadline
    self.future_owner = _owner
    log CommitNewAdmin(deadline=deadline, admin=_owner)


@external
def apply_transfer_ownership():
    assert msg.sender == self.pool_owner, "only owner"
    assert self.transfer_ownership_deadline != 0, "no active transfer"
    assert block.timestamp >= self.transfer_ownership_deadline, "insufficient time"
    new_owner: address = self.future_owner
    self.pool_owner = new_owner
    self.transfer_ownership_deadline = 0
    log NewAdmin(admin=new_owner)


@external
def revert_transfer_ownership():
    assert msg.sender == self.pool_owner, "only owner"
    self.transfer_ownership_deadline = 0


@external
def ramp_A(_future_A: uint256, _future_time: uint256):
    assert msg.sender == self._admin(), "only owner"
    assert block.timestamp >= self.initial_A_time + MIN_RAMP_TIME, "ramp too soon"
    assert _future_time >= block.timestamp + MIN_RAMP_TIME, "ramp too short"
    A0: uint256 = self._A()
    A1: uint256 = _future_A * A_PRECISION
    assert _future_A > 0 and _future_A < MAX_A, "A out of range"
    if A1 < A0:
        assert A1 * MAX_A_CHANGE >= A0, "A change too large"
    else:
        assert A1 <= A0 * MAX_A_CHANGE, "A change too large"
    self.initial_A = A0
    self.future_A = A1
    self.initial_A_time = block.timestamp
    self.future_A_time = _future_time
    log RampA(old_A=A0, new_A=A1, initial_time=block.timestamp, future_time=_future_time)


@external
def stop_ramp_A():
    assert msg.sender == self._admin(), "only owner"
    A_now: uint256 = self._A()
    self.initial_A = A_now
    self.future_A = A_now
    self.initial_A_time = block.timestamp
    self.future_A_time = block.timestamp
    log StopRampA(A=A_now, t=block.timestamp)


# ------------------------------------------------------------------ the invariant


@view
@internal
def _xp(_balances: uint256[N_COINS]) -> uint256[N_COINS]:
    result: uint256[N_COINS] = empty(uint256[N_COINS])
    for i: uint256 in range(N_COINS):
        result[i] = RATES[i] * _balances[i] // PRECISION
    return result


@pure
@internal
def _get_D(_xp: uint256[N_COINS], _amp: uint256) -> uint256:
    """Newton's method on D; D_P = D**(n+1) / (n**n * prod(xp)), one division per coin to stay in range."""
    S: uint256 = 0
    for x: uint256 in _xp:
        S += x
    if S == 0:
        return 0
    D: uint256 = S
    Ann: uint256 = _amp * N_COINS
    for _k: uint256 in range(MAX_ITERATIONS):
        D_P: uint256 = D
        for x: uint256 in _xp:
            D_P = D_P * D // (x * N_COINS)
        D_prev: uint256 = D
        D = (Ann * S // A_PRECISION + D_P * N_COINS) * D // ((Ann - A_PRECISION) * D // A_PRECISION + (N_COINS + 1) * D_P)
        if D > D_prev:
            if D - D_prev <= 1:
                return D
        elif D_prev - D <= 1:
            return D
    raise "D does not converge"


@pure
@internal
def _solve_y(_amp: uint256, _D: uint256, _S: uint256, _c: uint256) -> uint256:
    """Newton's method on y**2 + (S + D / Ann - D) * y = c, shared by get_y and get_y_D."""
    Ann: uint256 = _amp * N_COINS
    c: uint256 = _c * _D * A_PRECISION // (Ann * N_COINS)
    b: uint256 = _S + _D * A_PRECISION // Ann
    y: uint256 = _D
    for _k: uint256 in range(MAX_ITERATIONS):
        y_prev: uint256 = y
        y = (y * y + c) // (2 * y + b - _D)
        if y > y_prev:
            if y - y_prev <= 1:
                return y
        elif y_prev - y <= 1:
            return y
    raise "y does not converge"


@pure
@internal
def _get_y(i: uint256, j: uint256, x: uint256, _xp: uint256[N_COINS], _amp: uint256) -> uint256:
    """xp[j] after xp[i] becomes x at constant D."""
    assert i != j, "same coin"
    assert i < N_COINS and j < N_COINS, "coin index out of range"
    D: uint256 = self._get_D(_xp, _amp)
    c: uint256 = D
    S: uint256 = 0
    for k: uint256 in range(N_COINS):
        x_k: uint256 = 0
        if k == i:
            x_k = x
        elif k != j:
            x_k = _xp[k]
        else:
            continue
        S += x_k
        c = c * D // (x_k * N_COINS)
    return self._solve_y(_amp, D, S, c)


@pure
@internal
def _get_y_D(_amp: uint256, i: uint256, _xp: uint256[N_COINS], _D: uint256) -> uint256:
    """xp[i] that makes the invariant equal _D with the other coins unchanged."""
    assert i < N_COINS, "coin index out of range"
    c: uint256 = _D
    S: uint256 = 0
    for k: uint256 in range(N_COINS):
        if k == i:
            continue
        S += _xp[k]
        c = c * _D // (_xp[k] * N_COINS)
    return self._solve_y(_amp, _D, S, c)


# ------------------------------------------------------------------ views


@view
@external
def get_virtual_price() -> uint256:
    D: uint256 = self._get_D(self._xp(self.balances), self._A())
    return D * PRECISION // self.totalSupply


@view
@internal
def _get_dy(i: uint256, j: uint256, _dx: uint256) -> (uint256, uint256):
    """(dy after fee in coin j's units, the fee in xp units)."""
    xp: uint256[N_COINS] = self._xp(self.balances)
    x: uint256 = xp[i] + _dx * RATES[i] // PRECISION
    y: uint256 = self._get_y(i, j, x, xp, self._A())
    dy: uint256 = xp[j] - y - 1  # one unit less, against rounding in the pool's disfavour
    dy_fee: uint256 = dy * self.fee // FEE_DENOMINATOR
    return (dy - dy_fee) * PRECISION // RATES[j], dy_fee


@view
@external
def get_dy(i: int128, j: int128, _dx: uint256) -> uint256:
    return self._get_dy(convert(i, uint256), convert(j, uint256), _dx)[0]


@view
@external
def calc_token_amount(_amounts: uint256[N_COINS], _is_deposit: bool) -> uint256:
    """LP tokens minted or burnt for a balanced-or-not change, without fees (as Curve's own pools)."""
    amp: uint256 = self._A()
    balances: uint256[N_COINS] = self.balances
    D0: uint256 = self._get_D(self._xp(balances), amp)
    for i: uint256 in range(N_COINS):
        if _is_deposit:
            balances[i] += _amounts[i]
        else:
            balances[i] -= _amounts[i]
    D1: uint256 = self._get_D(self._xp(balances), amp)
    diff: uint256 = 0
    if _is_deposit:
        diff = D1 - D0
    else:
        diff = D0 - D1
    return diff * self.totalSupply // D0


@view
@internal
def _calc_withdraw_one_coin(_token_amount: uint256, i: uint256) -> (uint256, uint256):
    """(coin i paid out, the fee part of it in coin i's units) for burning _token_amount."""
    amp: uint256 = self._A()
    xp: uint256[N_COINS] = self._xp(self.balances)
    D0: uint256 = self._get_D(xp, amp)
    D1: uint256 = D0 - _token_amount * D0 // self.totalSupply
    new_y: uint256 = self._get_y_D(amp, i, xp, D1)
    fee: uint256 = self.fee * N_COINS // (4 * (N_COINS - 1))
    xp_reduced: uint256[N_COINS] = xp
    for k: uint256 in range(N_COINS):
        dx_expected: uint256 = 0
        if k == i:
            dx_expected = xp[k] * D1 // D0 - new_y
        else:
            dx_expected = xp[k] - xp[k] * D1 // D0
        xp_reduced[k] -= fee * dx_expected // FEE_DENOMINATOR
    precision: uint256 = RATES[i] // PRECISION
    dy: uint256 = xp_reduced[i] - self._get_y_D(amp, i, xp_reduced, D1)
    dy = (dy - 1) // precision  # one unit less, against rounding
    dy_0: uint256 = (xp[i] - new_y) // precision  # without fees
    return dy, dy_0 - dy


@view
@external
def calc_withdraw_one_coin(_token_amount: uint256, i: int128) -> uint256:
    return self._calc_withdraw_one_coin(_token_amount, convert(i, uint256))[0]


@view
@external
def admin_balances(i: uint256) -> uint256:
    coin: address = self.coins[i]
    held: uint256 = self.balance if coin == ETH_ADDRESS else staticcall IERC20(coin).balanceOf(self)
    return held - self.balances[i]


# ------------------------------------------------------------------ coin movements (native ETH or ERC20)


@internal
def _pull(i: uint256, _amount: uint256):
    """Coin i in from msg.sender: ERC20 transferFrom; native ETH arrived as msg.value (checked by the caller)."""
    coin: address = self.coins[i]
    if coin != ETH_ADDRESS:
        assert extcall IERC20(coin).transferFrom(msg.sender, self, _amount, default_return_value=True)


@internal
def _push(i: uint256, _to: address, _amount: uint256):
    coin: address = self.coins[i]
    if coin == ETH_ADDRESS:
        raw_call(_to, b"", value=_amount)
    else:
        assert extcall IERC20(coin).transfer(_to, _amount, default_return_value=True)


@view
@internal
def _eth_in(_amounts: uint256[N_COINS]) -> uint256:
    """The ether a call must carry: the native coin's amount, else nothing."""
    for i: uint256 in range(N_COINS):
        if self.coins[i] == ETH_ADDRESS:
            return _amounts[i]
    return 0


# ------------------------------------------------------------------ state changes


@external
__PAYABLE__
@nonreentrant
def exchange(i: int128, j: int128, _dx: uint256, _min_dy: uint256) -> uint256:
    a: uint256 = convert(i, uint256)
    b: uint256 = convert(j, uint256)
    dy: uint256 = 0
    dy_fee: uint256 = 0
    dy, dy_fee = self._get_dy(a, b, _dx)
    assert dy >= _min_dy, "Exchange resulted in fewer coins than expected"
    admin_part: uint256 = dy_fee * self.admin_fee // FEE_DENOMINATOR * PRECISION // RATES[b]
    self.balances[a] += _dx
    self.balances[b] -= dy + admin_part
    assert __MSG_VALUE__ == (_dx if self.coins[a] == ETH_ADDRESS else 0), "wrong ether sent"
    self._pull(a, _dx)
    self._push(b, msg.sender, dy)
    log TokenExchange(buyer=msg.sender, sold_id=i, tokens_sold=_dx, bought_id=j, tokens_bought=dy)
    return dy


@external
__PAYABLE__
@nonreentrant
def add_liquidity(_amounts: uint256[N_COINS], _min_mint_amount: uint256) -> uint256:
    amp: uint256 = self._A()
    old_balances: uint256[N_COINS] = self.balances
    D0: uint256 = self._get_D(self._xp(old_balances), amp)
    supply: uint256 = self.totalSupply
    new_balances: uint256[N_COINS] = old_balances
    for i: uint256 in range(N_COINS):
        if supply == 0:
            assert _amounts[i] > 0, "initial deposit requires all coins"
        new_balances[i] += _amounts[i]
    D1: uint256 = self._get_D(self._xp(new_balances), amp)
    assert D1 > D0, "D did not grow"

    fees: uint256[N_COINS] = empty(uint256[N_COINS])
    mint_amount: uint256 = D1  # the first deposit mints D
    if supply > 0:
        # An imbalanced deposit pays the swap fee, scaled to n / (4 (n - 1)), on its distance from the ideal.
        fee: uint256 = self.fee * N_COINS // (4 * (N_COINS - 1))
        admin_fee: uint256 = self.admin_fee
        for i: uint256 in range(N_COINS):
            ideal: uint256 = D1 * old_balances[i] // D0
            new_balance: uint256 = new_balances[i]
            difference: uint256 = 0
            if ideal > new_balance:
                difference = ideal - new_balance
            else:
                difference = new_balance - ideal
            fees[i] = fee * difference // FEE_DENOMINATOR
            self.balances[i] = new_balance - fees[i] * admin_fee // FEE_DENOMINATOR
            new_balances[i] -= fees[i]
        D2: uint256 = self._get_D(self._xp(new_balances), amp)
        mint_amount = supply * (D2 - D0) // D0
    else:
        self.balances = new_balances
    assert mint_amount >= _min_mint_amount, "Slippage screwed you"

    assert __MSG_VALUE__ == self._eth_in(_amounts), "wrong ether sent"
    for i: uint256 in range(N_COINS):
        if _amounts[i] > 0:
            self._pull(i, _amounts[i])
    self._mint(msg.sender, mint_amount)
    log AddLiquidity(
        provider=msg.sender, token_amounts=_amounts, fees=fees, invariant=D1, token_supply=supply + mint_amount
    )
    return mint_amount


@external
@nonreentrant
def remove_liquidity(_amount: uint256, _min_amounts: uint256[N_COINS]) -> uint256[N_COINS]:
    supply: uint256 = self.totalSupply
    amounts: uint256[N_COINS] = empty(uint256[N_COINS])
    for i: uint256 in range(N_COINS):
        value: uint256 = self.balances[i] * _amount // supply
        assert value >= _min_amounts[i], "Withdrawal resulted in fewer coins than expected"
        self.balances[i] -= value
        amounts[i] = value
    self._burn(msg.sender, _amount)
    for i: uint256 in range(N_COINS):
        self._push(i, msg.sender, amounts[i])
    log RemoveLiquidity(
        provider=msg.sender, token_amounts=amounts, fees=empty(uint256[N_COINS]), token_supply=supply - _amount
    )
    return amounts


@external
@nonreentrant
def remove_liquidity_one_coin(_token_amount: uint256, i: int128, _min_amount: uint256) -> uint256:
    k: uint256 = convert(i, uint256)
    dy: uint256 = 0
    dy_fee: uint256 = 0
    dy, dy_fee = self._calc_withdraw_one_coin(_token_amount, k)
    assert dy >= _min_amount, "Not enough coins removed"
    self.balances[k] -= dy + dy_fee * self.admin_fee // FEE_DENOMINATOR
    supply: uint256 = self.totalSupply
    self._burn(msg.sender, _token_amount)
    self._push(k, msg.sender, dy)
    log RemoveLiquidityOne(
        provider=msg.sender, token_amount=_token_amount, coin_amount=dy, token_supply=supply - _token_amount
    )
    return dy
