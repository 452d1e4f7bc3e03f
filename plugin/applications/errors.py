"""The refusals of the case services: each says, in words a person can read, why nothing was saved."""
from __future__ import annotations


class ApplicationError(Exception):
    """A refusal a person can read."""


class NotFound(ApplicationError):
    pass


class NotAllowed(ApplicationError):
    pass


class Conflict(ApplicationError):
    """Someone else changed the case first; nothing of this attempt was saved."""


class Claimed(Conflict):
    """The task is claimed by someone else."""


class Unverified(ApplicationError):
    """The applicant's identity is not verified, and the case would take a path that needs it."""


class Closed(ApplicationError):
    """The matter is on the negative list and closed to this applicant."""

    def __init__(self, closure):
        super().__init__(closure.reason)
        self.closure = closure


class CommitmentChanged(ApplicationError):
    """The commitment's text changed after the applicant read it: they must read it again."""
