"""What operators read in the Temporal UI: the static summary of each obligation and the evidence
of a notice given, in words (item 12: "keep current details with the met time and evidence")."""

from __future__ import annotations

from datetime import UTC, datetime

from rules import compute_obligations
from tests.workflows.conftest import make_intake
from workflows.incident_view import evidence_words, obligation_static_details, obligation_summary


def test_an_obligations_static_summary_says_what_which_state_and_when_it_is_due() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    intake = make_intake(now, incident_id="INC-UI")
    ob = next(o for o in compute_obligations(intake, determined_at=now).obligations if o.kind.value == "commissioner_notice")
    summary = obligation_summary(ob, "INC-UI")
    assert summary.startswith("Commissioner notice — TN — due ") and summary.endswith("event INC-UI")
    assert ob.due.strftime("%Y-%m-%d %H:%M") in summary
    assert ob.citation in obligation_static_details(ob)


def test_the_evidence_of_a_filing_names_its_submission_and_the_acknowledgement() -> None:
    words = evidence_words({
        "sent": {"submission_id": "INC-UI_commissioner_notice_TN-v1"},
        "confirmation": {"acknowledgement_reference": "TDCI-2026-4471", "simulated": "simulated by the dev outbox"},
    })
    assert words == "filed as INC-UI_commissioner_notice_TN-v1; acknowledged, reference TDCI-2026-4471 (simulated)"


def test_the_evidence_of_e_mailed_notices_counts_the_relays_acceptances_and_the_bounce_window() -> None:
    words = evidence_words({
        "sent": {"recipients": [{"recipient_ref": "P-1"}, {"recipient_ref": "P-2"}]},
        "confirmation": {"no_hard_bounce_within": "3 day(s)"},
    })
    assert words == "2 e-mail(s) accepted by the relay; no hard bounce within 3 day(s)"
    assert evidence_words({}) == ""
