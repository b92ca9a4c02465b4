"""A consumer notice's evidence of sending and of confirmation, read from the delivery store
(Tenn. Code Ann. § 56-2-1006(c)); see ``models/consumer_evidence.py`` for what each channel's
evidence is. Read-only: the consumer-notice workflow calls it when the notice is sent and again
when it checks whether anything came back.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

from temporalio import activity

from activities.tracking import RETURNED, SENT, DeliveryRow, DeliveryTracker
from models.consumer_evidence import (
    ConsumerEvidenceInput,
    ConsumerNoticeEvidence,
    EmailEvidence,
    LetterEvidence,
    PartEvidence,
)
from models.notice import SentEvidence
from models.obligation import NoticeMethod, Obligation
from rules.jurisdictions import substitute_part_citation

#: Rows read from the delivery store at a time.
PAGE = 5000


def _rows(tracker: DeliveryTracker, obligation_id: str, channel: str) -> list[DeliveryRow]:
    out: list[DeliveryRow] = []
    after: str | None = None
    while True:
        page = tracker.rows_page(obligation_id, channel, after, PAGE)
        out.extend(page)
        if len(page) < PAGE:
            return out
        after = page[-1].recipient_ref


def _span(times: list[datetime]) -> tuple[datetime | None, datetime | None]:
    return (min(times), max(times)) if times else (None, None)


def email_evidence(tracker: DeliveryTracker, obligation_id: str) -> EmailEvidence | None:
    rows = _rows(tracker, obligation_id, "email")
    sent = [r for r in rows if r.status == SENT]
    returned = sum(1 for r in rows if r.status == RETURNED)
    if not sent and not returned:
        return None
    lines: list[str] = []
    times: list[datetime] = []
    queue_ids = 0
    for row in sent:
        ev = SentEvidence.model_validate_json(row.evidence) if row.evidence else None
        if ev is not None:
            times.append(ev.sent_at)
            queue_ids += ev.queue_id is not None
        relay_id = (ev.queue_id or ev.message_id) if ev is not None else None
        lines.append(f"{row.recipient_ref} {relay_id or '-'}\n")
    first, last = _span(times)
    digest = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest() if lines else None
    return EmailEvidence(
        sent=len(sent), returned=returned, queue_ids=queue_ids, relay_ids_sha256=digest, first_sent_at=first, last_sent_at=last
    )


def letter_evidence(tracker: DeliveryTracker, obligation_id: str) -> LetterEvidence | None:
    rows = _rows(tracker, obligation_id, "postal")
    sent = [r for r in rows if r.status == SENT]
    returned = sum(1 for r in rows if r.status == RETURNED)
    if not sent and not returned:
        return None
    manifests: set[str] = set()
    times: list[datetime] = []
    for row in sent:
        if row.evidence:
            ev = SentEvidence.model_validate_json(row.evidence)
            times.append(ev.sent_at)
            if ev.manifest_sha256:
                manifests.add(ev.manifest_sha256)
    first, last = _span(times)
    return LetterEvidence(sent=len(sent), returned=returned, manifests_sha256=sorted(manifests), first_sent_at=first, last_sent_at=last)


def _part(
    tracker: DeliveryTracker, ob: Obligation, channel: str, url: str | None, outlets: list[str]
) -> PartEvidence | None:
    """(B) or (C), once its channel took it. Neither channel records a confirmation (a page
    live at its URL, an outlet's acknowledgement), so what stands for it is said in ``note``."""
    made = [r for r in _rows(tracker, ob.obligation_id, channel) if r.status == SENT]
    if not made:
        return None
    row = made[0]
    sent_at = SentEvidence.model_validate_json(row.evidence).sent_at if row.evidence else None
    if channel == "website":
        return PartEvidence(
            part="B", channel="website", citation=substitute_part_citation(ob.jurisdiction, "B"), location=row.location,
            document_sha256=row.document_sha256, sent_at=sent_at, url=url, confirmed_by="posting_url",
            note="the website channel records no publication confirmation: the posting's own URL (the licensee's "
            "notice page) stands as its publication",
        )
    return PartEvidence(
        part="C", channel="media", citation=substitute_part_citation(ob.jurisdiction, "C"), location=row.location,
        document_sha256=row.document_sha256, sent_at=sent_at, outlets=list(outlets), confirmed_by="submission_record",
        note="the media channel records no outlet confirmation: its submission record (the notice and "
        "distribution.json naming the outlets) stands as the notice to them",
    )


def consumer_notice_evidence(tracker: DeliveryTracker, req: ConsumerEvidenceInput, bounce_window: timedelta) -> ConsumerNoticeEvidence:
    ob = req.obligation
    oid = ob.obligation_id
    substitute = ob.method is NoticeMethod.SUBSTITUTE
    totals = tracker.consumer_totals(oid)
    return ConsumerNoticeEvidence(
        obligation_id=oid,
        emails=email_evidence(tracker, oid),
        letters=letter_evidence(tracker, oid),
        website=_part(tracker, ob, "website", req.notice_page_url, []) if substitute else None,
        media=_part(tracker, ob, "media", None, req.media_outlets) if substitute else None,
        notified=totals.notified,
        covered_by_substitute=totals.covered,
        outstanding=totals.outstanding,
        in_doubt=totals.in_doubt,
        bounce_window=bounce_window,
    )


class ConsumerEvidenceActivities:
    """Registered through ``NoticeActivities.activities()``."""

    def __init__(self, tracker: DeliveryTracker, bounce_window_days: float) -> None:
        self.tracker = tracker
        self.bounce_window = timedelta(days=bounce_window_days)

    @activity.defn(name="consumer_notice_evidence")
    async def consumer_notice_evidence(self, req: ConsumerEvidenceInput) -> ConsumerNoticeEvidence:
        """Every channel's evidence of a consumer notice's sending, and the consumers it reaches
        now (a bounce or a returned letter recorded since makes them outstanding again)."""
        return await asyncio.to_thread(consumer_notice_evidence, self.tracker, req, self.bounce_window)
