"""What the consumer-relationship lifecycle refuses, and why (28 TAC ch. 22): pure reads of the
workflow's state that raise a typed refusal (``workflows/refusals.py``).

Each check runs twice: in the update's validator (a refused step never reaches the history as
accepted) and again in the handler once it holds the workflow's lock, because another step may
have changed the state in between (update handlers interleave at every ``await``). Free text that
would be ledgered is checked for NPI here, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.privacy import ConsumerRelationship, DeliveryChannel
    from models.privacy_lifecycle import (
        VERSION_ID_PATTERN,
        CloseRelationship,
        CompleteTransaction,
        DeliveryRecord,
        DeliveryStatus,
        GateQuestion,
        OptOutRecord,
        OptOutRequest,
        RelationshipEvent,
        RelationshipStage,
        ReturnedMail,
        RevocationRequest,
        TransactionNotice,
    )
    from rules.disclosure import CITE_OPPORTUNITY_ISOLATED, CITE_OPT_OUT_DIRECTION
    from rules.npi import npi_problem

from workflows.refusals import NPI_RULE, guard_free_text, ledger_refusal, refuse_input, refuse_state  # noqa: F401 — re-exported
from workflows.rules_call import call_rules

CITE_RELATIONSHIP = "28 TAC § 22.5"
CITE_INITIAL = "28 TAC § 22.8"
CITE_FORMER = "28 TAC § 22.9(b)"
CITE_DELIVERY = "28 TAC § 22.13"
CITE_PRESENTED = "28 TAC § 22.13(b)(4)"
#: A clock a few minutes ahead of the worker's is not a claim about the future.
CLOCK_SKEW = timedelta(minutes=5)

#: The relationship fact each event sets (28 TAC § 22.9(b)(1)–(4)).
EVENT_FIELDS = {
    "no_longer_policyholder": "no_longer_policyholder_on",
    "policy_not_in_force": "policy_not_in_force_since",
    "communication": "last_communication_on",
    "mail_returned": "mail_returned_on",
    "address_search_failed": "address_search_failed_on",
    "settlement_documents_executed": "settlement_documents_executed_on",
    "settlement_payment_received": "settlement_payment_received_on",
    "settlement_responsibilities_completed": "settlement_responsibilities_completed_on",
}
#: … and the subsection that makes it end the relationship.
EVENT_CITATIONS = {
    "no_longer_policyholder": f"{CITE_FORMER}(1)",
    "policy_not_in_force": f"{CITE_FORMER}(2)",
    "communication": f"{CITE_FORMER}(2)",
    "mail_returned": f"{CITE_FORMER}(3)(A)",
    "address_search_failed": f"{CITE_FORMER}(3)(B)",
    "settlement_documents_executed": f"{CITE_FORMER}(4)(A)",
    "settlement_payment_received": f"{CITE_FORMER}(4)(B)",
    "settlement_responsibilities_completed": f"{CITE_FORMER}(4)(C)",
}


def version_id_problem(version: str) -> str | None:
    """Why ``version`` cannot name a policy version (a signal's, which cannot be refused), or None."""
    if not re.match(VERSION_ID_PATTERN, version):
        return "policy_version: not a policy version id (letters, digits and . _ : -)"
    return call_rules(npi_problem, "policy_version", version)


def require_active(stage: RelationshipStage, closing: bool, what: str) -> None:
    if stage is RelationshipStage.CLOSED or closing:
        raise refuse_state("relationship_closed", f"cannot {what}: the relationship's lifecycle is closed")


def require_actor(who: str, field: str) -> None:
    """Steps taken in a person's name (a bare string argument, not a model) name that person."""
    if not who or not who.strip() or len(who) > 100:
        raise refuse_input("actor_missing", field, f"{field}: name the person taking the step (1–100 characters)")


def not_future(moment: datetime | None, now: datetime, field: str) -> None:
    if moment is not None and moment > now + CLOCK_SKEW:
        raise refuse_input(
            "time_in_future", field, f"{field}: {moment.isoformat()} is in the future; record what was received, when it was received"
        )


def check_opt_out(
    req: OptOutRequest,
    *,
    opt_outs: Sequence[OptOutRecord],
    in_effect: Sequence[OptOutRecord],
    consumer_refs: Sequence[str],
    relationship_id: str,
    categories: tuple[set[str], set[str]],
    now: datetime,
) -> None:
    """An election the policy can honour, by a consumer of this relationship, not already recorded."""
    guard_free_text([("election_id", req.election_id)])
    if any(o.election_id == req.election_id for o in opt_outs):
        raise refuse_state(
            "opt_out_already_recorded", f"election_id: opt-out {req.election_id!r} is already recorded", field="election_id"
        )
    if req.consumer_ref not in consumer_refs:
        raise refuse_input("consumer_not_in_relationship", "consumer_ref", f"consumer_ref: not a consumer of relationship {relationship_id}")
    not_future(req.received_at, now, "received_at")
    npi, recipients = categories
    for i, cat in enumerate(req.npi_categories or []):
        if cat not in npi:
            raise refuse_input(
                "opt_out_category_not_in_policy", f"npi_categories[{i}]",
                f"npi_categories[{i}]: {cat!r} is not a category the privacy policy discloses ({', '.join(sorted(npi))})",
                citation=CITE_OPT_OUT_DIRECTION,
            )
    for i, cat in enumerate(req.recipient_categories or []):
        if cat not in recipients:
            raise refuse_input(
                "opt_out_category_not_in_policy", f"recipient_categories[{i}]",
                f"recipient_categories[{i}]: {cat!r} is not a recipient category of the privacy policy ({', '.join(sorted(recipients))})",
                citation=CITE_OPT_OUT_DIRECTION,
            )
    covering = next((o for o in in_effect if o.consumer_ref == req.consumer_ref and _covers(o, req)), None)
    if covering is not None:
        raise refuse_state(
            "opt_out_already_in_effect",
            f"consumer_ref: this consumer's opt-out {covering.election_id!r}, in effect since "
            f"{covering.effective_at.isoformat()}, already covers this election; nothing more is needed to honour it",
            citation=CITE_OPT_OUT_DIRECTION, field="consumer_ref",
        )


def _covers(existing: OptOutRecord, req: OptOutRequest) -> bool:
    def within(held: list[str] | None, asked: list[str] | None) -> bool:
        return held is None or (asked is not None and set(asked) <= set(held))

    return within(existing.npi_categories, req.npi_categories) and within(existing.recipient_categories, req.recipient_categories)


def check_revocation(req: RevocationRequest, *, opt_outs: Sequence[OptOutRecord], now: datetime) -> OptOutRecord:
    """A written or electronic revocation of an opt-out of this relationship that stands."""
    election = next((o for o in opt_outs if o.election_id == req.election_id), None)
    if election is None:
        raise refuse_input("opt_out_unknown", "election_id", f"election_id: no opt-out {req.election_id!r} on this relationship")
    if election.revocation_received_at is not None:
        raise refuse_state(
            "opt_out_already_revoked", f"election_id: opt-out {req.election_id!r} was already revoked", field="election_id"
        )
    if req.form == "oral":
        raise refuse_input(
            "oral_revocation_not_accepted", "form",
            f"form: an oral revocation does not end an opt-out; it must be revoked in writing or electronically "
            f"({CITE_OPT_OUT_DIRECTION}; reported rule, counsel review)",
            citation=CITE_OPT_OUT_DIRECTION,
        )
    not_future(req.received_at, now, "received_at")
    if req.received_at is not None and req.received_at < election.received_at:
        raise refuse_input("revocation_before_opt_out", "received_at", "received_at: a revocation cannot precede the opt-out it revokes")
    return election


def check_event(event: RelationshipEvent, *, stage: RelationshipStage, rel: ConsumerRelationship, today: date) -> None:
    """A fact that may end a customer relationship (§ 22.9(b)), once, in the order it can happen."""
    if stage is not RelationshipStage.CUSTOMER:
        raise refuse_state(
            "relationship_event_needs_customer",
            f"kind: {event.kind} ends a customer relationship ({CITE_FORMER}); this relationship is {stage.value}",
            citation=CITE_FORMER, field="kind",
        )
    if event.on > today:
        raise refuse_input("time_in_future", "on", f"on: {event.on.isoformat()} is in the future; record events that have happened")
    if event.kind == "address_search_failed" and rel.mail_returned_on is None:
        raise refuse_state(
            "returned_mail_not_recorded",
            "kind: a failed address search ends the relationship only after mail was returned as undeliverable "
            f"({CITE_FORMER}(3)(A)); record the returned mail first",
            citation=f"{CITE_FORMER}(3)(A)", field="kind",
        )
    recorded = getattr(rel, EVENT_FIELDS[event.kind])
    if recorded == event.on:
        raise refuse_state(
            "relationship_event_already_recorded", f"on: {event.kind} on {event.on.isoformat()} is already recorded", field="on"
        )
    if event.kind == "communication" and recorded is not None and event.on < recorded:
        raise refuse_input(
            "communication_before_last_recorded", "on",
            f"on: the last communication on record is {recorded.isoformat()}; an earlier one does not move it back "
            f"(the 12 months of {CITE_FORMER}(2) run from the last)",
            citation=f"{CITE_FORMER}(2)",
        )


def check_returned_mail(
    returned: ReturnedMail, *, deliveries: Sequence[DeliveryRecord], tz: tzinfo, today: date
) -> DeliveryRecord:
    """A mailed notice of this relationship, returned once, between its mailing and today."""
    delivery = next((d for d in deliveries if d.notice_id == returned.notice_id), None)
    if delivery is None:
        raise refuse_input("notice_unknown", "notice_id", f"notice_id: no notice {returned.notice_id!r} was delivered on this relationship")
    if delivery.channel is not DeliveryChannel.MAIL:
        raise refuse_input(
            "notice_not_mailed", "notice_id", f"notice_id: {returned.notice_id} went by {delivery.channel.value}, not by mail",
            citation=f"{CITE_DELIVERY}(a)",
        )
    if delivery.status is DeliveryStatus.RETURNED:
        raise refuse_state(
            "notice_already_returned", f"notice_id: {returned.notice_id} is already recorded as returned", field="notice_id"
        )
    if returned.returned_on < delivery.delivered_at.astimezone(tz).date() or returned.returned_on > today:
        raise refuse_input("returned_on_out_of_range", "returned_on", "returned_on: must fall between the mailing and today")
    if returned.address_search_failed_on is not None:
        if returned.address_search_failed_on < returned.returned_on:
            raise refuse_input(
                "address_search_before_return", "address_search_failed_on",
                f"address_search_failed_on: the search for a current address follows the returned mail ({CITE_FORMER}(3)(B))",
                citation=f"{CITE_FORMER}(3)(B)",
            )
        if returned.address_search_failed_on > today:
            raise refuse_input(
                "time_in_future", "address_search_failed_on",
                f"address_search_failed_on: {returned.address_search_failed_on.isoformat()} is in the future",
            )
    return delivery


def check_completion(
    req: CompleteTransaction,
    *,
    stage: RelationshipStage,
    rel: ConsumerRelationship,
    notice: TransactionNotice | None,
    now: datetime,
) -> None:
    """§ 22.14(b)(3): an isolated transaction is completed once, after its notices were presented."""
    if stage is not RelationshipStage.ISOLATED_TRANSACTION:
        raise refuse_state(
            "not_an_isolated_transaction",
            f"completed_at: only an isolated transaction is completed ({CITE_OPPORTUNITY_ISOLATED}); this is a {stage.value}",
            citation=CITE_OPPORTUNITY_ISOLATED,
        )
    if rel.transaction_completed_at is not None:
        raise refuse_state("transaction_already_completed", "completed_at: the transaction is already completed", field="completed_at")
    not_future(req.completed_at, now, "completed_at")
    if req.completed_at is not None and notice is not None and req.completed_at < notice.presented_at:
        raise refuse_input(
            "completed_before_notice_presented", "completed_at",
            f"completed_at: the notices are presented before the transaction is completed ({CITE_PRESENTED})",
            citation=CITE_PRESENTED,
        )


def check_notify(*, stage: RelationshipStage, initial_notice_on: date | None, planned: bool, blocked: str | None) -> None:
    """§ 22.8(a)(2): notices before a planned disclosure, asked once, for a consumer who is not a customer."""
    if stage is not RelationshipStage.CONSUMER:
        raise refuse_state(
            "notice_before_disclosure_needs_consumer",
            f"stage: notices before a disclosure are asked for consumers who are not customers; this is a {stage.value}",
            citation=f"{CITE_INITIAL}(a)(2)",
        )
    if initial_notice_on is not None:
        raise refuse_state("initial_notice_already_given", f"stage: the initial notice was already given on {initial_notice_on.isoformat()}")
    if planned:
        if blocked is not None:
            raise refuse_state("notice_held", f"notice_blocked: the initial notice is held ({blocked})", field="notice_blocked")
        raise refuse_state("initial_notice_already_requested", "stage: the initial notice was already asked for")


def check_retry(blocked: str | None) -> None:
    if blocked is None:
        raise refuse_state("no_notice_held", "notice_blocked: no notice is held; nothing to retry", field="notice_blocked")


def check_close(req: CloseRelationship, stage: RelationshipStage) -> None:
    if stage is RelationshipStage.CUSTOMER:
        raise refuse_state(
            "customer_relationship_not_ended",
            f"stage: a customer relationship is closed only after it ends ({CITE_FORMER}); record the event that ends it first",
            citation=CITE_FORMER,
        )
    guard_free_text([("reason", req.reason)])


def check_question(question: GateQuestion, *, decided: set[str], consumer_refs: Sequence[str], relationship_id: str) -> None:
    """A gate question is decided once per request id; what it names is ledgered, so no NPI."""
    guard_free_text([
        ("request_id", question.request_id),
        ("npi_category", question.npi_category),
        ("recipient.name", question.recipient.name),
        ("recipient.category", question.recipient.category),
    ])
    if question.request_id in decided:
        raise request_already_decided(question.request_id)
    if question.consumer_ref is not None and question.consumer_ref not in consumer_refs:
        raise refuse_input("consumer_not_in_relationship", "consumer_ref", f"consumer_ref: not a consumer of relationship {relationship_id}")


def request_already_decided(request_id: str) -> ApplicationError:
    return refuse_state(
        "request_id_already_decided",
        f"request_id: {request_id!r} was already decided; ask again under a new request id",
        field="request_id",
    )
