"""The one error the V3 math raises: a contract `require`/revert, with the contract's own reason string.

>>> from defiscope.protocols.uniswap.math.full_math import mul_div
>>> mul_div(1, 1, 0)
Traceback (most recent call last):
...
defiscope.protocols.uniswap.math.errors.MathRevert: FullMath.mulDiv: denominator is zero
"""

from __future__ import annotations

from defiscope.errors import DefiscopeError


class MathRevert(DefiscopeError, ValueError):
    """Where the Solidity function would revert; the message says which function and why."""
