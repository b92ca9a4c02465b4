"""Ledger errors: each says what is wrong in words a compliance officer can act on."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error."""


class StepConflictError(LedgerError):
    """A step key was appended again with different content; the first entry stands."""

    def __init__(self, step: str, seq: int, differences: list[str]) -> None:
        self.step = step
        self.seq = seq
        self.differences = differences
        super().__init__(
            f"step {step!r} is already recorded as seq {seq} with different content "
            f"({', '.join(differences)}); a recorded step is never overwritten — "
            "use a new step key for a new fact"
        )


class NPIError(LedgerError, ValueError):
    """Ledger data looks like raw nonpublic personal information."""


class LedgerKeyError(LedgerError):
    """A signing or verification key is missing, unreadable or invalid."""


class BundleError(LedgerError):
    """An export bundle is missing a file or a file is malformed."""
