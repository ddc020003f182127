"""Failures of the job system's dependencies (the CLI answers them with exit code 1 and advice)."""

from __future__ import annotations

from defiscope.errors import DefiscopeError


class JobsUnavailable(DefiscopeError):
    """The broker or the workers did not do what the job system needs: trying later may work."""


class BrokerUnavailable(JobsUnavailable):
    """The message broker could not be reached."""


class ChunksTimedOut(JobsUnavailable):
    """The workers did not finish the chunks in time (are any running on these queues?)."""
