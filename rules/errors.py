"""Errors the rules raise: each names the input field and says what to fix."""

from __future__ import annotations


class RuleInputError(ValueError):
    """An input the rules cannot work with, beyond what the models' own validation catches."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
