"""Effective-dated rows: the version of a law in force on the trigger date (rules/effective.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from rules.effective import in_force


@dataclass(frozen=True)
class _Version:
    name: str
    effective_from: dt.date | None


OLD = _Version("old text", None)
NEW = _Version("2025 text", dt.date(2025, 1, 1))
NEWER = _Version("2026 text", dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (dt.date(2024, 12, 31), "old text"),
        (dt.date(2025, 1, 1), "2025 text"),  # in force on the day it takes effect
        (dt.date(2025, 12, 31), "2025 text"),
        (dt.date(2026, 1, 1), "2026 text"),
        (dt.date(2030, 6, 1), "2026 text"),
    ],
)
def test_the_version_in_force_on_the_trigger_date_is_chosen_whatever_the_order(on: dt.date, expected: str) -> None:
    for versions in ([OLD, NEW, NEWER], [NEWER, OLD, NEW], [NEW, NEWER, OLD]):
        chosen = in_force(versions, on)
        assert chosen is not None and chosen.name == expected


def test_no_version_is_in_force_before_the_first_took_effect() -> None:
    assert in_force([NEW, NEWER], dt.date(2024, 12, 31)) is None
    assert in_force([], dt.date(2025, 1, 1)) is None
