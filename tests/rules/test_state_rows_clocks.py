"""Issue 12, commissioner notice: the clocks of the new rows — last business day, each state's own holidays, end of
day in the state's zone (AK America/Anchorage, HI Pacific/Honolulu) — and effective dating either side of a row's
date. Each case quotes its row of JURISDICTIONS.md (``state_rows_builders.ROW``)."""

from __future__ import annotations

import datetime as dt

import pytest

from models.obligation import ClockStart, ObligationKind
from rules.calendar import is_business_day
from rules.cyber import compute_obligations
from rules.jurisdictions import (
    CYBER_JURISDICTION_VERSIONS,
    STRICTEST_KNOWN_CLOCK,
    jurisdiction_for,
    report_items_citation,
    tpsp_citation,
)
from rules.registry import verifies
from tests.rules.builders import find, only, state_row
from tests.rules.state_rows_builders import ROW, event

COMMISSIONER = ObligationKind.COMMISSIONER_NOTICE
CEDING = ObligationKind.CEDING_INSURER_NOTICE
ONE_MICROSECOND = dt.timedelta(microseconds=1)


def _notice(state: str, determined: str, **kwargs: object):  # type: ignore[no-untyped-def]
    """A domestic insurer of ``state`` with 300 residents there, harm and a government notice: every trigger
    variant of the new rows fires (VT by its residents, NY by the domicile's licence)."""
    data = {"domicile": state, "affected": [state_row(state, 300, harm=True, gov=True)], "determined": determined,
            "discovered": determined, **kwargs}  # fmt: skip
    return only(compute_obligations(event(**data)), COMMISSIONER, state)  # type: ignore[arg-type]


@verifies(
    "ak.commissioner_notice.deadline", "il.commissioner_notice.deadline", "me.commissioner_notice.deadline",
    "mn.commissioner_notice.deadline", "ms.commissioner_notice.deadline", "nh.commissioner_notice.deadline",
    "oh.commissioner_notice.deadline", "ok.commissioner_notice.deadline", "ri.commissioner_notice.deadline",
    "vt.commissioner_notice.deadline", "ny.commissioner_notice.deadline", "engine.calendar.business_days",
)
@pytest.mark.parametrize(
    ("state", "determined", "due", "holiday"),
    [
        # AK: 3 business days; Seward's Day (Mon 31 March 2025) is not one — Thu 27, Fri 28, Tue 1 April.
        ("AK", "2025-03-26T10:00:00-08:00", "2025-04-01T23:59:59.999999-08:00", "2025-03-31"),
        # IL: Casimir Pulaski Day (Mon 3 March) — Fri 28 Feb, Tue 4, Wed 5.
        ("IL", "2025-02-27T15:00:00-06:00", "2025-03-05T23:59:59.999999-06:00", "2025-03-03"),
        # ME: Patriots' Day (Mon 21 April) — Fri 18, Tue 22, Wed 23.
        ("ME", "2025-04-17T10:00:00-04:00", "2025-04-23T23:59:59.999999-04:00", "2025-04-21"),
        # MN: **5 business days**; Memorial Day (Mon 26 May) — Thu 22, Fri 23, Tue 27, Wed 28, Thu 29.
        ("MN", "2025-05-21T10:00:00-05:00", "2025-05-29T23:59:59.999999-05:00", "2025-05-26"),
        # MS: Confederate Memorial Day (Mon 28 April) — Fri 25, Tue 29, Wed 30.
        ("MS", "2025-04-24T10:00:00-05:00", "2025-04-30T23:59:59.999999-05:00", "2025-04-28"),
        # NH and OK close the day after Thanksgiving (Fri 28 November) — Mon 1, Tue 2, Wed 3 December …
        ("NH", "2025-11-26T10:00:00-05:00", "2025-12-03T23:59:59.999999-05:00", "2025-11-28"),
        ("OK", "2025-11-26T09:00:00-06:00", "2025-12-03T23:59:59.999999-06:00", "2025-11-28"),
        # … Ohio does not: Fri 28, Mon 1, Tue 2.
        ("OH", "2025-11-26T10:00:00-05:00", "2025-12-02T23:59:59.999999-05:00", None),
        # RI: Victory Day (Mon 11 August) — Fri 8, Tue 12, Wed 13.
        ("RI", "2025-08-07T10:00:00-04:00", "2025-08-13T23:59:59.999999-04:00", "2025-08-11"),
        # VT: 14 business days; Town Meeting Day (Tue 4 March) is not one — the 14th is Fri 21 March (EDT).
        ("VT", "2025-02-28T16:30:00-05:00", "2025-03-21T23:59:59.999999-04:00", "2025-03-04"),
        # NY: 72 hours, exact, across the change to daylight time (9 March).
        ("NY", "2025-03-07T16:30:00-05:00", "2025-03-10T17:30:00-04:00", None),
    ],
)
def test_new_rows_commissioner_clock_ends_on_the_states_last_business_day(
    state: str, determined: str, due: str, holiday: str | None
) -> None:
    """ROW[state] (JURISDICTIONS.md): the clock as the row gives it, counted in the state's business days."""
    notice = _notice(state, determined)
    assert notice.citation.startswith(jurisdiction_for(state).commissioner.citation), ROW[state]
    assert notice.rule_id == f"{state.lower()}.commissioner_notice.deadline"
    assert notice.due.isoformat() == due
    if holiday is not None:
        assert not is_business_day(dt.date.fromisoformat(holiday), state)
        assert notice.due.date() > dt.date.fromisoformat(holiday)
    if notice.clock.unit.value == "business_days":
        # The last day counts whole, and not a microsecond more: the next instant is the next local day.
        assert (notice.due + ONE_MICROSECOND).date() == notice.due.date() + dt.timedelta(days=1)
        assert is_business_day(notice.due.date(), state)


@verifies("ak.commissioner_notice.deadline", "engine.calendar.business_days")
@pytest.mark.parametrize(
    ("determined", "due"),
    [
        # 23:30 on Wednesday in Anchorage is already Thursday in Chicago and UTC: the days count from Thursday.
        ("2025-03-26T23:30:00-08:00", "2025-04-01T23:59:59.999999-08:00"),
        # An hour later it is Thursday in Anchorage too: Fri 28, (Mon 31 Seward's Day), Tue 1, Wed 2.
        ("2025-03-27T00:30:00-08:00", "2025-04-02T23:59:59.999999-08:00"),
    ],
)
def test_alaska_days_are_read_in_anchorage(determined: str, due: str) -> None:
    """ROW["AK"]: "3 business days after the licensee determines" — local days of America/Anchorage."""
    notice = _notice("AK", determined)
    assert notice.due.isoformat() == due
    assert notice.due.utcoffset() == dt.timedelta(hours=-8)


@verifies("hi.commissioner_notice.reported_clock", "hi.ceding_insurer_notice.reported", "engine.unverified.strictest_clock")
@pytest.mark.parametrize(
    ("determined", "reported_due"),
    [
        # Prince Kuhio Day (Wed 26 March) is a Hawaii holiday: Tue 25, Thu 27, Fri 28.
        ("2025-03-24T23:30:00-10:00", "2025-03-28T23:59:59.999999-10:00"),
        # 00:30 on Tuesday in Honolulu: Thu 27, Fri 28, Mon 31.
        ("2025-03-25T00:30:00-10:00", "2025-03-31T23:59:59.999999-10:00"),
    ],
)
def test_hawaii_reported_clocks_are_read_in_honolulu(determined: str, reported_due: str) -> None:
    """ROW["HI"]: main clock unread → the strictest known clock (72 hours) with counsel review; the assuming
    insurer's reported 3 business days are shown next to it, in Hawaii's business days and zone."""
    commissioner = _notice("HI", determined)
    assert commissioner.clock == STRICTEST_KNOWN_CLOCK and commissioner.reported_clock is None
    assert commissioner.due == dt.datetime.fromisoformat(determined) + dt.timedelta(hours=72)
    assert commissioner.due.utcoffset() == dt.timedelta(hours=-10)
    assert "reported, not verified (reported: main clock unread)" in commissioner.counsel_review_reasons[0]
    result = compute_obligations(
        event(kind="assuming_insurer", domicile="HI", affected=[state_row("HI", 40)], determined=determined,
              discovered=determined)
    )  # fmt: skip
    ceding = only(result, CEDING, "HI")
    assert ceding.rule_id == "hi.ceding_insurer_notice.reported" and ceding.citation.startswith("HRS § 431:3B-305")
    assert ceding.clock == STRICTEST_KNOWN_CLOCK and ceding.due == commissioner.due
    assert ceding.reported_clock is not None and ceding.reported_clock.describe() == "3 business days"
    assert ceding.reported_due is not None and ceding.reported_due.isoformat() == reported_due
    assert any("HI assuming-insurer clock is reported" in r for r in ceding.counsel_review_reasons)


@verifies("ct.commissioner_notice.reported_clock", "in.commissioner_notice.reported_clock", "engine.unverified.strictest_clock")
@pytest.mark.parametrize(
    ("state", "reported", "reported_due"),
    [
        # CT: "3 business days after first determination" — Good Friday (18 April) is a Connecticut holiday.
        ("CT", "3 business days after first determination (text seen only as quoted)", "2025-04-22T23:59:59.999999-04:00"),
        # IN: "main clock unread" — nothing to show beside the 72 hours.
        ("IN", "main clock unread", None),
    ],
)
def test_reported_rows_apply_72_hours_and_show_the_reported_clock(state: str, reported: str, reported_due: str | None) -> None:
    """ROW["CT"], ROW["IN"] (reported): the strictest known clock (72 hours) with the reported clock beside it."""
    notice = _notice(state, "2025-04-16T10:00:00-04:00")
    assert notice.clock == STRICTEST_KNOWN_CLOCK and notice.status.value == "reported"
    assert notice.due.isoformat() == "2025-04-19T10:00:00-04:00"
    assert f"{state} commissioner-notice clock is reported, not verified (reported: {reported})" in (
        notice.counsel_review_reasons[0]
    )
    assert (notice.reported_due.isoformat() if notice.reported_due else None) == reported_due


# ============================================================================================
# Effective dating
# ============================================================================================


@verifies("engine.effective.commissioner_rows", "ak.commissioner_notice.deadline", "model.commissioner_notice.reported_clock")
@pytest.mark.parametrize(
    ("determined", "rule_id", "due"),
    [
        # 23:30 on 31 December in Anchorage (08:30 UTC on 1 January): AS 21.23.280 is not yet in force.
        ("2024-12-31T23:30:00-09:00", "model.commissioner_notice.reported_clock", "2025-01-03T23:30:00-09:00"),
        # 00:30 on 1 January in Anchorage: the AK row, 3 business days (Thu 2, Fri 3, Mon 6).
        ("2025-01-01T00:30:00-09:00", "ak.commissioner_notice.deadline", "2025-01-06T23:59:59.999999-09:00"),
    ],
)
def test_alaska_event_is_judged_by_the_law_in_force_on_its_trigger_date(determined: str, rule_id: str, due: str) -> None:
    """ROW["AK"]: "AS 21.23.280 (in force 2025-01-01)"; before it the model fallback, as before issue 12."""
    notice = only(
        compute_obligations(event(domicile="AK", affected=[state_row("AK", 5, harm=False)], determined=determined,
                                  discovered="2024-12-30T09:00:00-09:00")),
        COMMISSIONER, "AK",
    )  # fmt: skip
    assert notice.rule_id == rule_id
    assert notice.due.isoformat() == due
    if rule_id.startswith("model."):
        assert notice.status.value == "reported"
        assert any("AK has no row in force on this event's trigger date" in r for r in notice.counsel_review_reasons)
        assert any("AS 21.23.280 takes effect on 2025-01-01" in n for n in notice.notes)
    else:
        # No material-harm condition, verified: no counsel review about the trigger.
        assert not any("home-state trigger" in r for r in notice.counsel_review_reasons)


@verifies("engine.effective.commissioner_rows", "il.commissioner_notice.deadline")
@pytest.mark.parametrize(
    ("determined", "rule_id", "due"),
    [
        ("2023-12-29T10:00:00-06:00", "model.commissioner_notice.reported_clock", "2024-01-01T10:00:00-06:00"),
        # "(P.A. 103-142, eff. 2024-01-01)": Wed 3, Thu 4, Fri 5 January.
        ("2024-01-02T10:00:00-06:00", "il.commissioner_notice.deadline", "2024-01-05T23:59:59.999999-06:00"),
    ],
)
def test_illinois_row_applies_from_2024_01_01(determined: str, rule_id: str, due: str) -> None:
    """ROW["IL"]."""
    notice = _notice("IL", determined)
    assert (notice.rule_id, notice.due.isoformat()) == (rule_id, due)


@verifies("engine.effective.commissioner_rows", "ri.commissioner_notice.residents_trigger")
@pytest.mark.parametrize(("determined", "notice_owed"), [("2024-12-31T10:00:00-05:00", True), ("2025-01-02T10:00:00-05:00", False)])
def test_rhode_island_no_250_rule_applies_from_2025_01_01(determined: str, notice_owed: bool) -> None:
    """ROW["RI"]: "(eff. 2025-01-01) … **domestic insurers only**; no 250 rule". Before that date the model
    fallback's 250 rule reaches a Georgia insurer with 300 Rhode Island residents; from it, nothing does."""
    result = compute_obligations(
        event(domicile="GA", affected=[state_row("RI", 300, harm=True, gov=True)], determined=determined,
              discovered=determined)
    )  # fmt: skip
    assert (find(result, COMMISSIONER, "RI") is not None) is notice_owed


@verifies("engine.effective.commissioner_rows", "nd.commissioner_notice.reported_clock", "nd.commissioner_notice.reported_clock_sb_2088")
@pytest.mark.parametrize(
    ("determined", "rule_id", "reported", "reported_due"),
    [
        # The older text: 3 business days (Fri 1, Mon 4, Tue 5 August).
        ("2025-07-31T10:00:00-05:00", "nd.commissioner_notice.reported_clock", "3 business days",
         "2025-08-05T23:59:59.999999-05:00"),
        # 2025 SB 2088 (effective date assumed 1 August 2025): 72 hours.
        ("2025-08-01T10:00:00-05:00", "nd.commissioner_notice.reported_clock_sb_2088", "72 hours",
         "2025-08-04T10:00:00-05:00"),
    ],
)  # fmt: skip
def test_north_dakota_versions_either_side_of_sb_2088(determined: str, rule_id: str, reported: str, reported_due: str) -> None:
    """ROW["ND"]: "older text 3 business days; 2025 SB 2088 replaces it with **72 hours** … reported — apply 72
    hours + counsel review"."""
    notice = _notice("ND", determined)
    assert notice.rule_id == rule_id and notice.clock == STRICTEST_KNOWN_CLOCK and notice.needs_counsel_review
    assert notice.due == dt.datetime.fromisoformat(determined) + dt.timedelta(hours=72)
    assert notice.reported_clock is not None and notice.reported_clock.describe() == reported
    assert notice.reported_due is not None and notice.reported_due.isoformat() == reported_due


@verifies("engine.effective.commissioner_rows", "engine.citations.jurisdiction")
def test_without_a_date_the_newest_version_answers_and_citations_need_none() -> None:
    assert [v.effective_from for v in CYBER_JURISDICTION_VERSIONS["ND"]] == [None, dt.date(2025, 8, 1)]
    assert jurisdiction_for("ND").commissioner.rule_id == "nd.commissioner_notice.reported_clock_sb_2088"
    assert jurisdiction_for("AK").commissioner.citation == "AS 21.23.280"
    assert jurisdiction_for("AK", dt.date(2024, 12, 31)).fallback
    assert report_items_citation("AK") == "NAIC #668 § 6(B) (model; state section not verified)"
    assert tpsp_citation("NY") == "23 NYCRR 500.17"


@verifies("ny.tpsp.covered_entity_events", "ny.commissioner_notice.deadline")
def test_new_york_72_hours_run_from_the_determination_also_for_a_providers_incident() -> None:
    """ROW["NY"]: "72 hours after determining", "incl. events at affiliates and third-party service providers"."""
    result = compute_obligations(
        event(domicile="NY", source="third_party_service_provider", tpsp="2025-03-03T09:00:00-05:00",
              discovered="2025-03-03T09:00:00-05:00", determined="2025-03-05T12:00:00-05:00",
              affected=[state_row("NY", 10, harm=False), state_row("TN", 300, gov=True)])
    )  # fmt: skip
    ny = only(result, COMMISSIONER, "NY")
    assert ny.clock_start is ClockStart.DETERMINATION
    assert ny.due.isoformat() == "2025-03-08T12:00:00-05:00"
    assert "ny.tpsp.covered_entity_events" in ny.rule_ids
    # Tennessee's clock runs from the provider's notice (§ 56-2-1006(d)(2)): Tue 4, Wed 5, Thu 6 March.
    tn = only(result, COMMISSIONER, "TN")
    assert tn.clock_start is ClockStart.TPSP_NOTICE and tn.due.isoformat() == "2025-03-06T23:59:59.999999-06:00"


@verifies("vt.commissioner_notice.deadline", "vt.commissioner_notice.when_consumers_notified")
def test_vermont_clock_runs_from_knowledge_and_the_sooner_consumer_notice_is_flagged() -> None:
    """ROW["VT"]: "within 14 business days of knowing or reasonably believing a resident was affected (or when
    consumers are notified, if sooner — § 2435(b)(3), reported)". The engine starts the days at the earliest
    moment the licensee knew of the event (discovery), and flags both readings for counsel."""
    result = compute_obligations(
        event(domicile="GA", discovered="2025-02-28T16:30:00-05:00", determined="2025-03-20T10:00:00-04:00",
              affected=[state_row("VT", 1, harm=False)])
    )  # fmt: skip
    vt = only(result, COMMISSIONER, "VT")
    assert vt.clock_start is ClockStart.DISCOVERY
    assert vt.clock_starts_at.isoformat() == "2025-02-28T16:30:00-05:00"
    assert vt.due.isoformat() == "2025-03-21T23:59:59.999999-04:00"
    assert vt.recipient_name == "Vermont Department of Financial Regulation"
    assert vt.status.value == "reported" and "vt.commissioner_notice.when_consumers_notified" in vt.rule_ids
    assert any(r.startswith("9 V.S.A. § 2435(b)(3) (reported)") for r in vt.counsel_review_reasons)
    assert any("knowing or reasonably believing" in r for r in vt.counsel_review_reasons)
