"""Why a statistic could not be computed: malformed input, or data for which the statistic has no value."""

from __future__ import annotations

from defiscope.errors import DefiscopeError, InputError


class InvalidSeries(InputError):
    """A series is malformed: not one-dimensional, not finite, not positive where values must be, lengths differ."""


class Undefined(DefiscopeError):
    """The statistic has no value for these data (no variance, too few observations, nothing to count).

    The message is the reason, for the caller to report next to the figure instead of a number."""
