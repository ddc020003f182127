# pragma version 0.4.3
"""
@title CurveCryptoPool
@notice defiscope's stand-in for a twocrypto-ng / tricrypto-ng pool, for TVL only: the real pool's read
        functions (coins, balances, A, gamma, fee, ADMIN_FEE, get_virtual_price, price_scale where the ABI has it
        without arguments) and its LP token (ERC20, 18 decimals). Its CryptoSwap invariant is not
        implemented, so it cannot be traded; routing leaves crypto pools out. The deployer seeds it once
        (seed, a devnet-only hook): the coins move in, the LP supply is minted, the virtual price is 1e18.
@dev N_COINS is written in by contracts/build_vyper.py (2: twocrypto-ng, 3: tricrypto-ng).
"""

from ethereum.ercs import IERC20

N_COINS: constant(uint256) = __N_COINS__


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


coins: public(address[N_COINS])
balances: public(uint256[N_COINS])
A: public(uint256)
gamma: public(uint256)
fee: public(uint256)
# As in twocrypto-ng and tricrypto-ng: the admin's share of the fees is a public constant, half (of 1e10).
ADMIN_FEE: public(constant(uint256)) = 5 * 10**9
get_virtual_price: public(uint256)
seeder: address

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__(_coins: address[N_COINS], _A: uint256, _gamma: uint256, _fee: uint256, _name: String[64], _symbol: String[32]):
    self.coins = _coins
    self.A = _A
    self.gamma = _gamma
    self.fee = _fee
    self.name = _name
    self.symbol = _symbol
    self.decimals = 18
    self.seeder = msg.sender


@external
def seed(_amounts: uint256[N_COINS], _lp_amount: uint256):
    """Devnet-only: the one initial deposit, by the deployer; the LP supply is given, not computed."""
    assert msg.sender == self.seeder, "deployer only"
    assert self.totalSupply == 0, "seeded"
    for i: uint256 in range(N_COINS):
        assert extcall IERC20(self.coins[i]).transferFrom(msg.sender, self, _amounts[i], default_return_value=True)
    self.balances = _amounts
    self.get_virtual_price = 10**18
    self.totalSupply = _lp_amount
    self.balanceOf[msg.sender] = _lp_amount
    log Transfer(sender=empty(address), receiver=msg.sender, value=_lp_amount)


@external
def transfer(_to: address, _value: uint256) -> bool:
    self.balanceOf[msg.sender] -= _value
    self.balanceOf[_to] += _value
    log Transfer(sender=msg.sender, receiver=_to, value=_value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    self.allowance[_from][msg.sender] -= _value
    self.balanceOf[_from] -= _value
    self.balanceOf[_to] += _value
    log Transfer(sender=_from, receiver=_to, value=_value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)
    return True
