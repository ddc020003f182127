"""Why an index definition or a basket was refused: each message names the field and the numbers at fault."""

from __future__ import annotations

from defiscope.errors import InputError


class InvalidDefinition(InputError):
    """An index definition file is malformed, fails validation, or repeats another definition's id."""


class EmptyBasket(InputError):
    """The eligibility rule left no member to weight; the message counts why the candidates were excluded."""


class UnfillableBasket(InputError):
    """The cap is too low for the members there are: cap * members < 1, so the weights cannot sum to 1."""
