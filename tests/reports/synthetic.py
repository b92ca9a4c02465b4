"""A small synthetic ledger in the shapes the workflows write (workflows/obligation_base.py,
workflows/incident*.py, workflows/privacy_relationship*.py): one event with an obligation met on
time, one met late, one open past its due instant, one waived, one excused, a counsel review, a
pending one and a privileged finding; and a privacy relationship. Hashes and signatures are
placeholders: the report reads entries, the verifiers check them."""

from __future__ import annotations

from typing import Any

INCIDENT = "INC-7"
STREAM = f"incident:{INCIDENT}"
PRIVACY_STREAM = "privacy:REL-1"

TN_CN = f"{INCIDENT}:commissioner_notice:TN:commissioner:TN"
TN_CONS = f"{INCIDENT}:consumer_notice:TN:consumers:TN"
KY_CN = f"{INCIDENT}:commissioner_notice:KY:commissioner:KY"
VA_CN = f"{INCIDENT}:commissioner_notice:VA:commissioner:VA"
MO_PROD = f"{INCIDENT}:producer_notice:MO:producers_of_record"

TN_CITE = "Tenn. Code Ann. § 56-2-1006(a), (b)"
TN_CONS_CITE = "Tenn. Code Ann. § 56-2-1006(c), (c)(1)–(3)"
KY_CITE = "KRS 304.3-750 to 304.3-768; NAIC #668 § 6(E) (model; state section not verified)"
VA_CITE = "Va. Code § 38.2-625"
MO_CITE = "RSMo §§ 375.1400–375.1427; Tenn. Code Ann. § 56-2-1006(f) (Tennessee's rule applied; MO section not verified)"

REPORT_HTML = "a1" * 32
REPORT_JSON = "b2" * 32
LETTER = "c3" * 32
WEBSITE = "d4" * 32
INITIAL_NOTICE = "e5" * 32

#: What the bundle holds (sha256 → path inside the bundle).
DOCUMENTS = {
    REPORT_HTML: f"documents/{REPORT_HTML}.html",
    LETTER: f"documents/{LETTER}.html",
    WEBSITE: f"documents/{WEBSITE}.html",
    INITIAL_NOTICE: f"documents/{INITIAL_NOTICE}.html",
}


class Book:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, ts: str, type_: str, data: dict[str, Any], *, stream: str = STREAM, jurisdiction: str | None = None,
            citation: str | None = None, actor: str = "worker") -> dict[str, Any]:
        seq = len(self.entries) + 1
        entry = {
            "seq": seq, "ts": ts, "stream": stream, "type": type_, "step": f"{stream}/{type_}/{seq}",
            "workflow_id": f"wf-{stream}", "run_id": "run-1", "jurisdiction": jurisdiction, "citation": citation,
            "actor": actor, "data": data, "prev_hash": f"{seq - 1:064x}", "key_id": "ed25519:0011223344556677",
            "hash": f"{seq:064x}", "sig": "c2ln",
        }
        self.entries.append(entry)
        return entry


def opened(book: Book, ts: str, obligation_id: str, state: str, citation: str, due: str, recipient: str,
           clock_starts_at: str, *, review: bool = False) -> None:
    kind = obligation_id.split(":")[1]
    book.add(ts, f"{kind}.opened", {
        "obligation_id": obligation_id, "recipient": recipient, "due": due, "clock_starts_at": clock_starts_at,
        "clock_start": "determination", "basis": f"Synthetic basis for {state}.", "rule_id": f"{state.lower()}.{kind}",
        "method": None, "needs_counsel_review": review, "counsel_review_reasons": ["clock not verified"] if review else [],
    }, jurisdiction=state, citation=citation)


def synthetic_entries() -> list[dict[str, Any]]:
    book = Book()
    book.add("2026-03-02T15:00:00.000000Z", "incident.intake_recorded", {
        "affected_consumers": {"TN": 1200, "KY": 300, "MO": 90, "VA": 40},
        "discovered_at": "2026-03-01T12:00:00+00:00", "licensee": {"kind": "insurer", "name": "Synthetic Mutual", "naic_code": "99999"},
        "responders": {"owner": "d.whitfield", "backup": "r.ames"}, "source": "licensee",
    }, actor="user:d.whitfield", citation="Tenn. Code Ann. § 56-2-1005")
    # A responder assignment that records display names (staff, never consumers).
    book.add("2026-03-02T15:05:00.000000Z", "incident.responders_assigned", {
        "owner": {"responder_id": "d.whitfield", "name": "Dana Whitfield"},
        "backup": {"responder_id": "r.ames", "name": "Robin Ames"}, "reason": "initial assignment",
    }, actor="user:d.whitfield")
    book.add("2026-03-02T15:10:00.000000Z", "incident.finding_recorded", {
        "kind": "counsel_note", "privileged": True, "report_items": [], "report_statement": None,
        "privilege": {"basis": "attorney_client", "digest": "hmac-sha256:" + "7" * 64, "digest_scheme": "hmac-sha256-commitment/v1",
                      "sealed_document": f"{INCIDENT}/finding/1", "withheld": "summary"},
    }, actor="user:d.whitfield", citation="Tenn. Code Ann. § 56-2-1005")
    book.add("2026-03-02T16:00:00.000000Z", "incident.determined", {
        "determined_at": "2026-03-02T16:00:00+00:00", "nonpublic_information": ["consumer_identifying"],
        "obligations": [
            {"obligation_id": TN_CN, "kind": "commissioner_notice", "jurisdiction": "TN", "citation": TN_CITE,
             "due": "2026-03-05T23:59:59.999999-06:00", "needs_counsel_review": False},
        ],
    }, actor="user:d.whitfield", citation="Tenn. Code Ann. § 56-2-1003")
    opened(book, "2026-03-02T16:00:01.000000Z", TN_CN, "TN", TN_CITE, "2026-03-05T23:59:59.999999-06:00", "commissioner",
           "2026-03-02T10:00:00-06:00")
    opened(book, "2026-03-02T16:00:02.000000Z", TN_CONS, "TN", TN_CONS_CITE, "2026-04-16T23:59:59.999999-05:00", "consumers",
           "2026-03-02T10:00:00-06:00", review=True)
    opened(book, "2026-03-02T16:00:03.000000Z", KY_CN, "KY", KY_CITE, "2026-03-05T11:00:00-05:00", "commissioner",
           "2026-03-02T11:00:00-05:00", review=True)
    opened(book, "2026-03-02T16:00:04.000000Z", VA_CN, "VA", VA_CITE, "2026-03-05T23:59:59.999999-05:00", "commissioner",
           "2026-03-02T11:00:00-05:00")
    opened(book, "2026-03-02T16:00:05.000000Z", MO_PROD, "MO", MO_CITE, "2026-04-01T23:59:59.999999-05:00", "producers_of_record",
           "2026-03-02T10:00:00-06:00")
    book.add("2026-03-02T16:00:06.000000Z", "producer_notice.excused", {
        "obligation_id": MO_PROD, "reason": "The insurer does not have current producer-of-record information for these consumers.",
    }, jurisdiction="MO", citation=MO_CITE)
    # TN commissioner notice: filed, sent, acknowledged — on time.
    book.add("2026-03-03T14:00:00.000000Z", "commissioner_notice.submitted", {
        "obligation_id": TN_CN, "version": 1, "document_sha256": REPORT_JSON, "html_sha256": REPORT_HTML, "portal": "outbox",
        "portal_reference": None, "sent_at": "2026-03-03T14:00:00+00:00", "submission_id": "INC-7-TN-v1", "changes": [],
        "summary": None, "steps": [], "consumer_estimate": 1200, "items_not_yet_available": [],
    }, jurisdiction="TN", citation=TN_CITE)
    sent_evidence = {"channel": "regulator_portal", "document_sha256": REPORT_JSON, "portal": "outbox", "submission_id": "INC-7-TN-v1",
                     "submitted_at": "2026-03-03T14:00:00+00:00", "version": 1}
    book.add("2026-03-03T14:00:01.000000Z", "commissioner_notice.sent", {
        "obligation_id": TN_CN, "sent_at": "2026-03-03T14:00:00+00:00", "due": "2026-03-05T23:59:59.999999-06:00",
        "on_time": True, "evidence": sent_evidence,
    }, jurisdiction="TN", citation=TN_CITE)
    book.add("2026-03-04T09:00:00.000000Z", "commissioner_notice.met", {
        "obligation_id": TN_CN, "met_at": "2026-03-03T14:00:00+00:00", "sent_at": "2026-03-03T14:00:00+00:00",
        "confirmed_at": "2026-03-04T09:00:00+00:00", "due": "2026-03-05T23:59:59.999999-06:00", "on_time": True,
        "sent_evidence": sent_evidence,
        "confirmation": {"acknowledgement_reference": "TDCI-2026-0142", "recorded_by": "portal:tdci", "version": 1,
                         "received_at": "2026-03-04T09:00:00+00:00", "submission_id": "INC-7-TN-v1", "evidence_sha256": None},
    }, jurisdiction="TN", citation=TN_CITE)
    # KY commissioner notice: overdue, escalated, counsel confirmed the clock.
    book.add("2026-03-05T16:00:00.000000Z", "commissioner_notice.overdue", {
        "obligation_id": KY_CN, "due": "2026-03-05T11:00:00-05:00", "basis": "Synthetic basis for KY.",
    }, jurisdiction="KY", citation=KY_CITE)
    book.add("2026-03-06T16:00:00.000000Z", "commissioner_notice.escalated", {
        "obligation_id": KY_CN, "due": "2026-03-05T11:00:00-05:00", "overdue_since": "2026-03-05T16:00:00+00:00",
        "escalation_interval_seconds": 86400, "backup": "r.ames", "note": None,
    }, jurisdiction="KY", citation=KY_CITE)
    book.add("2026-03-06T17:00:00.000000Z", "incident.counsel_review_recorded", {
        "obligation_id": KY_CN, "decision": "confirmed", "reasons_reviewed": ["clock not verified"], "privileged": True,
        "privilege": {"basis": "attorney_client", "digest": "hmac-sha256:" + "8" * 64, "digest_scheme": "hmac-sha256-commitment/v1",
                      "sealed_document": f"{INCIDENT}/counsel-review/1", "withheld": "notes"},
    }, jurisdiction="KY", citation=KY_CITE, actor="user:j.counsel")
    # VA: waived by a person, with the reason.
    book.add("2026-03-04T12:00:00.000000Z", "commissioner_notice.waived", {
        "obligation_id": VA_CN, "reason": "Counsel: Va. Code § 38.2-625 does not reach a licensee with 40 residents affected.",
    }, jurisdiction="VA", citation=VA_CITE, actor="user:r.ames")
    # TN consumers: approved, sent two days late, confirmed.
    book.add("2026-04-10T15:00:00.000000Z", "consumer_notice.approved", {"obligations": [TN_CONS]}, actor="user:d.whitfield",
             citation=TN_CONS_CITE)
    late_evidence = {"approved_by": "d.whitfield", "method": "written", "documents": [LETTER, WEBSITE],
                     "channels": {"postal": {"sent": 1200, "returned": 0, "manifests_sha256": ["f6" * 32]},
                                  "website": {"url": "https://synthetic.example/notice", "document_sha256": WEBSITE}}}
    book.add("2026-04-19T15:00:00.000000Z", "consumer_notice.sent", {
        "obligation_id": TN_CONS, "sent_at": "2026-04-19T14:00:00+00:00", "due": "2026-04-16T23:59:59.999999-05:00",
        "on_time": False, "late_by_seconds": 2 * 86400 + 9 * 3600, "evidence": late_evidence,
    }, jurisdiction="TN", citation=TN_CONS_CITE)
    book.add("2026-04-20T15:00:00.000000Z", "consumer_notice.met_late", {
        "obligation_id": TN_CONS, "met_at": "2026-04-19T14:00:00+00:00", "sent_at": "2026-04-19T14:00:00+00:00",
        "confirmed_at": "2026-04-20T15:00:00+00:00", "due": "2026-04-16T23:59:59.999999-05:00", "on_time": False,
        "late_by_seconds": 2 * 86400 + 9 * 3600, "approved_by": "d.whitfield", "sent_evidence": late_evidence,
        "confirmation": {"postal": {"confirmed": 1200, "confirmed_by": "mailing_manifest"}},
    }, jurisdiction="TN", citation=TN_CONS_CITE)
    book.add("2026-04-21T10:00:00.000000Z", "incident.report_item_not_applicable", {
        "item": "F", "state": "TN", "reason": "No law-enforcement agency was notified.",
    }, jurisdiction="TN", citation="Tenn. Code Ann. § 56-2-1006(b)(1)(F)", actor="user:d.whitfield")
    # A privacy relationship: an initial notice, its opt-out window, an opt-out, an overdue annual notice.
    cite = "28 TAC § 22.8"
    book.add("2026-01-05T10:00:00.000000Z", "privacy_relationship.opened", {
        "stage": "customer", "what": "customer", "consumers": ["C-1"], "joint": False, "joint_citation": None,
        "established_at": "2026-01-05T10:00:00+00:00",
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation=cite, actor="user:d.whitfield")
    book.add("2026-01-05T10:01:00.000000Z", "initial_notice.sent", {
        "notice_id": "N-1", "delivery_key": "REL-1:initial", "policy_version": "2026.1", "with_opt_out_notice": True,
        "channel": "mail", "channel_basis": "mail", "status": "mailed", "mailed_at": "2026-01-05T10:01:00+00:00",
        "documents": [{"sha256": INITIAL_NOTICE, "media_type": "text/html", "kind": "initial_notice"}], "consumers": 1, "joint": False,
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation=cite)
    book.add("2026-01-05T10:02:00.000000Z", "opt_out.window_opened", {
        "notice_id": "N-1", "example": "mailed notice", "opens_at": "2026-01-05T10:01:00+00:00",
        "disclosure_allowed_from": "2026-02-04T10:01:00+00:00", "reasons": ["30 days after mailing"],
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation="28 TAC § 22.10(a)(3)")
    book.add("2026-01-20T10:00:00.000000Z", "opt_out.elected", {
        "election_id": "OO-1", "consumer_ref": "C-1", "received_at": "2026-01-20T10:00:00+00:00", "effective_at": "2026-01-20T10:00:00+00:00",
        "npi_categories": ["account_history"], "recipient_categories": ["nonaffiliated"], "applies_to": "the consumer",
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation="28 TAC § 22.14(a)(4)", actor="user:r.ames")
    book.add("2026-02-04T10:01:00.000000Z", "opt_out.window_closed", {
        "notice_id": "N-1", "policy_version": "2026.1", "outcome": "held_by_opt_out",
        "disclosure_allowed_from": "2026-02-04T10:01:00+00:00", "opt_outs_in_effect": ["OO-1"],
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation="28 TAC § 22.10(a)(3)")
    book.add("2026-03-10T00:00:00.000000Z", "annual_notice.overdue", {
        "period_end": "2026-03-09", "waiting_for": "the annual notice for policy 2026.1",
    }, stream=PRIVACY_STREAM, jurisdiction="TX", citation="28 TAC § 22.9")
    book.entries.sort(key=lambda e: e["ts"])
    for n, entry in enumerate(book.entries, 1):
        entry["seq"] = n
    return book.entries


def as_v2(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same entries in format version 2 (docs/ledger-format.md; issue 10 spec §A)."""
    out, positions, last = [], {}, {}
    for entry in entries:
        stream = entry["stream"]
        positions[stream] = positions.get(stream, 0) + 1
        out.append({**entry, "v": 2, "stream_seq": positions[stream], "stream_prev_hash": last.get(stream, "0" * 64)})
        last[stream] = entry["hash"]
    return out


def report_args(**overrides: Any) -> dict[str, Any]:
    """The keyword arguments of ``build_examiner_report`` for a complete bundle of the synthetic ledger."""
    args: dict[str, Any] = {
        "tree_head": {"tree_size": 30, "root_hash": "ab" * 32, "timestamp": "2026-05-01T00:00:00.000000Z",
                      "key_id": "ed25519:0011223344556677", "sig": "c2ln"},
        "keys": {"ed25519:0011223344556677": {"algorithm": "ed25519", "public_key": "CWwEEaaDBYXT7bLIR3ICIf4Wp8ig0UV4D9pxQ9evsp8=",
                                              "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None}},
        "filter": {"stream": None, "jurisdiction": None, "since": None, "until": None},
        "completeness": {"proven": "ledger", "statement": "This bundle holds every entry of the ledger up to its signed tree head."},
        "privilege_log": [],
        "documents": DOCUMENTS,
        "generated_at": "2026-05-01T00:00:00.000000Z",
        "verifier_sha256": "9f" * 32,
        "checkpoint": "noticeflow.example/ledger\n30\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n— noticeflow.example/ledger AAAAAA==\n",
    }
    args.update(overrides)
    return args
