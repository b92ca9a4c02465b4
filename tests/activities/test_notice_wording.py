"""Who a notice speaks to, and what it claims travels with it (issue 9, item 10).

The producer e-mail told an agency "your Social Security number" and offered it credit monitoring;
every notice said enrollment instructions were "enclosed" when nothing was. A notice to a producer of
record or a ceding insurer speaks to the business about its clients; a notice claims an enclosure only
when its delivery carries one.
"""

from __future__ import annotations

import re

import pytest

from activities.documents import (
    DocumentError,
    NoticeText,
    notice_text,
    render_ceding_insurer_notice,
    render_consumer_email,
    render_consumer_letter,
    render_media_notice,
    render_producer_notice,
    render_website_posting,
)
from models.incident import IncidentIntake
from models.licensee import LicenseeKind
from models.notice import CedingInsurer, NoticeContent, Producer
from models.obligation import Obligation
from rules import compute_obligations
from tests.activities.conftest import AS_OF, obligation

CLAIMS_ENCLOSURE = "We are offering 24 months of credit monitoring at no cost to you. Enrollment instructions are enclosed."
ENROLLMENT = "Enrollment instructions for 24 months of credit monitoring"
AGENCY = Producer(producer_id="P-1001", name="Volunteer State Insurance Agency", email="service@volunteerstate-agency.example")

#: What only a consumer is told: about the reader's own data, and what the reader can do or is offered.
CONSUMER_ONLY = (
    "your Social Security number", "your name and your", "credit monitoring", "at no cost to you",
    "What you can do", "WHAT YOU CAN DO", "fraud alert", "security freeze", "Dear [Name of the consumer]",
)  # fmt: skip


def _words(text: str) -> str:
    return re.sub(r"<[^>]+>", " ", text)


@pytest.fixture
def tn_text(intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent) -> NoticeText:
    ob = obligation(obligations, "producer_notice", "TN")
    return notice_text(ob, intake, content.model_copy(update={"services_offered": CLAIMS_ENCLOSURE}), AS_OF, ob.citation)


# -- producers of record, § 56-2-1006(f) -----------------------------------------------------------


def test_producer_notice_speaks_to_the_agency_about_its_clients_56_2_1006_f(
    intake: IncidentIntake, obligations: dict[str, Obligation], tn_text: NoticeText
) -> None:
    ob = obligation(obligations, "producer_notice", "TN")
    consumer = obligation(obligations, "consumer_notice", "TN")
    body = render_producer_notice(ob, tn_text, AGENCY, 3, consumer.due, consumer)
    for text in (body.text, _words(body.html)):
        assert "Dear Volunteer State Insurance Agency," in text
        assert "3 of your clients residing in Tennessee" in text  # how many, in which state
        assert "a service provider that maintains information for us told us" in text  # what happened, from the facts
        assert "your clients' names and their:" in text and "health information (about their health" in text
        assert re.search(r"notifying each affected client directly .*no later than January 15, 2026", text, re.DOTALL)
        assert "You do not need to notify them yourself." in text  # the clients receive their own notice
        assert "please refer them to us at 1-800-555-0134" in text and "privacy@cumberland.example" in text  # whom to contact
        for phrase in CONSUMER_ONLY:
            assert phrase not in text, phrase
        assert not re.search(r"\b(enclosed|attached)\b", text, re.IGNORECASE)


@pytest.mark.parametrize(
    ("state", "how"),
    [
        # TN: substitute notice only for the 35 consumers without contact information; letters to the others.
        ("TN", "by letter, and those we cannot reach by a notice on our website and in the statewide media"),
        ("DE", "by e-mail"),  # an electronic primary channel
    ],
)
def test_producer_notice_says_how_the_clients_are_notified(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, state: str, how: str
) -> None:
    ob = obligation(obligations, "producer_notice", state)
    consumer = obligation(obligations, "consumer_notice", state)
    body = render_producer_notice(ob, notice_text(ob, intake, content, AS_OF, ob.citation), AGENCY, 1, consumer.due, consumer)
    assert f"notifying each affected client directly {how}, no later than" in body.text


# -- ceding insurers, § 56-2-1006(e) ---------------------------------------------------------------


def test_ceding_insurer_notice_speaks_to_the_insurer_about_its_policyholders_56_2_1006_e(
    intake: IncidentIntake, content: NoticeContent
) -> None:
    assuming = intake.model_copy(update={"licensee": intake.licensee.model_copy(update={"kind": LicenseeKind.ASSUMING_INSURER})})
    ob = next(o for o in compute_obligations(assuming).obligations if o.kind.value == "ceding_insurer_notice" and o.jurisdiction == "TN")
    text = notice_text(ob, assuming, content.model_copy(update={"services_offered": CLAIMS_ENCLOSURE}), AS_OF, ob.citation)
    insurer = CedingInsurer(name="Harpeth Mutual", naic_code="99999", email="claims@harpeth.example")
    body = render_ceding_insurer_notice(ob, assuming, text, insurer)
    for words in (body.text, _words(body.html)):
        assert "Dear Harpeth Mutual," in words
        assert "Tennessee: 18,400" in words and "Missouri: 2,100" in words  # how many, where
        assert "a service provider that maintains information for us told us" in words  # what happened
        assert "you are responsible for notifying the affected consumers (Tenn. Code Ann. § 56-2-1006(e)(1)(B), (e)(2)(B))" in words
        assert "1-800-555-0134" in words  # whom to contact
        for phrase in CONSUMER_ONLY:
            assert phrase not in words, phrase


# -- enclosures: claimed only when the delivery carries them ----------------------------------------


def test_a_letter_lists_its_enclosures_and_claims_none_without_them(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "consumer_notice", "MO")
    plain = notice_text(ob, intake, content, AS_OF, ob.citation)
    without = render_consumer_letter(plain)
    assert not re.search(r"\benclos", without, re.IGNORECASE)
    with_enclosure = render_consumer_letter(plain, enclosures=[ENROLLMENT])
    assert f'<p class="enclosures">Enclosed: {ENROLLMENT}</p>' in with_enclosure


def test_an_email_names_its_attachments_and_claims_none_without_them(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent
) -> None:
    ob = obligation(obligations, "consumer_notice", "DE")
    plain = notice_text(ob, intake, content, AS_OF, ob.citation)
    without = render_consumer_email(plain)
    assert not re.search(r"\b(attach|enclos)", without.text + without.html, re.IGNORECASE)
    with_file = render_consumer_email(plain, attachments=["enrollment-instructions.pdf"])
    assert "Attached to this e-mail: enrollment-instructions.pdf" in with_file.text
    assert "<p>Attached to this e-mail: enrollment-instructions.pdf</p>" in with_file.html


@pytest.mark.parametrize(
    ("document", "render"),
    [
        ("letter", lambda t: render_consumer_letter(t)),
        ("e-mail", lambda t: render_consumer_email(t)),
        ("website posting", lambda t: render_website_posting(t)),
        ("media notice", lambda t: render_media_notice(t, ["The Tennessean"])),
    ],
)
def test_free_text_claiming_an_enclosure_is_refused_when_nothing_is_enclosed(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, document: str, render
) -> None:
    ob = obligation(obligations, "consumer_notice", "TN")
    text = notice_text(ob, intake, content.model_copy(update={"services_offered": CLAIMS_ENCLOSURE}), AS_OF, ob.citation)
    with pytest.raises(DocumentError, match=rf"^content\.services_offered says 'enclosed', but the {document} carries no enclosure"):
        render(text)


def test_free_text_claiming_an_enclosure_is_kept_when_the_letter_carries_one(tn_text: NoticeText) -> None:
    letter = render_consumer_letter(tn_text, enclosures=[ENROLLMENT])
    assert "Enrollment instructions are enclosed." in letter and f"Enclosed: {ENROLLMENT}" in letter
    assert "Enrollment instructions are enclosed." in render_consumer_email(tn_text, attachments=["enroll.pdf"]).text


def test_business_notices_check_only_the_text_they_show(
    intake: IncidentIntake, obligations: dict[str, Obligation], content: NoticeContent, tn_text: NoticeText
) -> None:
    """The consumer's services text is not in a producer's e-mail, so its 'enclosed' is no claim there; the
    licensee's 'what we are doing' is, and an 'attached' in it is refused without an attachment."""
    ob = obligation(obligations, "producer_notice", "TN")
    assert "enclosed" not in render_producer_notice(ob, tn_text, AGENCY, 1, ob.due).text
    attached = notice_text(ob, intake, content.model_copy(update={"what_we_are_doing": "The forensic summary is attached."}), AS_OF, ob.citation)
    with pytest.raises(DocumentError, match=r"^content\.what_we_are_doing says 'attached', but the e-mail carries no enclosure"):
        render_producer_notice(ob, attached, AGENCY, 1, ob.due)
    sent = render_producer_notice(ob, attached, AGENCY, 1, ob.due, attachments=["forensic-summary.pdf"])
    assert "Attached to this e-mail: forensic-summary.pdf" in sent.text


def test_the_demo_content_claims_no_enclosure() -> None:
    import json
    from pathlib import Path

    notices = json.loads((Path(__file__).resolve().parents[2] / "docs" / "examples" / "notices.json").read_text())
    content = notices["content"]
    for name in ("what_happened", "information_involved", "what_we_are_doing", "what_you_can_do", "services_offered"):
        assert not re.search(r"\b(enclosed|enclosures?|attached|attachments?)\b", content.get(name) or "", re.IGNORECASE), name
