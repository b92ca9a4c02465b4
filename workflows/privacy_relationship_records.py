"""What a consumer relationship takes over from the licensee's records (28 TAC ch. 22): an initial
notice given before its lifecycle started (imported with the relationship), and the consumer's
written authorizations to disclose health information with their revocations (§§ 22.53–22.56).

Mixed into ``ConsumerRelationshipWorkflow`` through ``RelationshipSteps``. The imported notice is
a lifecycle step of the start (behind the ``import-initial-notice`` patch); the authorizations are
updates, checked in their validator and again under the lock, ledgered, then applied — the
disclosure gate (``decide_disclosure``) relies on an authorization for the recipients and
information it names until it expires or its revocation is received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.actors import step_actor as _actor
    from models.privacy import HealthAuthorization, NoticeKind
    from models.privacy_lifecycle import (
        DeliveryRecord,
        DeliveryStatus,
        GateQuestion,
        GivenNotice,
        HealthAuthorizationRecord,
        HealthAuthorizationRequest,
        HealthRevocationRequest,
        OptOutRecord,
        RelationshipStage,
        RelationshipStart,
        RelationshipState,
    )
    from rules.disclosure import (
        CITE_HEALTH_AUTHORIZATION,
        CITE_HEALTH_DURATION,
        CITE_HEALTH_REVOCATION,
        HEALTH_RULES_REVIEW,
        health_authorization_status,
    )

from workflows.common import iso, quick_step
from workflows.privacy_checks import CITE_INITIAL, not_future, require_active
from workflows.refusals import guard_free_text, refuse_input, refuse_state
from workflows.rules_call import call_rules

#: The start takes over an initial notice given before the lifecycle (imported history).
IMPORT_PATCH = "import-initial-notice"
RECORD_PRESENTED = "privacy_record_presented_notice"
CITE_IMPORTED = f"{CITE_INITIAL}(a); 28 TAC § 22.13"


def check_health_authorization(
    req: HealthAuthorizationRequest, *, known: Sequence[HealthAuthorizationRecord], consumer_refs: Sequence[str],
    relationship_id: str, now: datetime,
) -> None:
    """A written authorization by a consumer of this relationship, recorded once; what it names is
    ledgered, so no NPI in its free text."""
    guard_free_text([
        ("authorization_id", req.authorization_id),
        ("purpose", req.purpose),
        *((f"information_types[{i}]", t) for i, t in enumerate(req.information_types)),
        *((f"recipients[{i}]", r) for i, r in enumerate(req.recipients)),
    ])
    if any(h.authorization.authorization_id == req.authorization_id for h in known):
        raise refuse_state(
            "health_authorization_already_recorded",
            f"authorization_id: authorization {req.authorization_id!r} is already recorded", field="authorization_id",
        )
    if req.consumer_ref not in consumer_refs:
        raise refuse_input("consumer_not_in_relationship", "consumer_ref", f"consumer_ref: not a consumer of relationship {relationship_id}")
    not_future(req.signed_at, now, "signed_at")
    if req.valid_until is not None and req.valid_until <= req.signed_at:
        raise refuse_input(
            "valid_until_before_signature", "valid_until",
            f"valid_until: the authorization's period ends before it was signed ({CITE_HEALTH_DURATION})",
            citation=CITE_HEALTH_DURATION,
        )


def check_health_revocation(
    req: HealthRevocationRequest, *, known: Sequence[HealthAuthorizationRecord], now: datetime
) -> HealthAuthorizationRecord:
    """The revocation of an authorization of this relationship that stands (§ 22.56(a))."""
    record = next((h for h in known if h.authorization.authorization_id == req.authorization_id), None)
    if record is None:
        raise refuse_input(
            "health_authorization_unknown", "authorization_id",
            f"authorization_id: no health authorization {req.authorization_id!r} on this relationship",
        )
    if record.authorization.revocation_received_at is not None:
        raise refuse_state(
            "health_authorization_already_revoked",
            f"authorization_id: authorization {req.authorization_id!r} was already revoked", field="authorization_id",
        )
    not_future(req.received_at, now, "received_at")
    if req.received_at is not None and req.received_at < record.authorization.signed_at:
        raise refuse_input(
            "revocation_before_authorization", "received_at", "received_at: a revocation cannot precede the authorization it revokes"
        )
    return record


class RecordsSteps:
    """The imported initial notice and the health authorizations of ``ConsumerRelationshipWorkflow``."""

    # What the lifecycle holds (set in ``ConsumerRelationshipWorkflow.__init__``).
    _inp: RelationshipStart
    _lock: asyncio.Lock
    _stage: RelationshipStage
    _close: Any
    _policy_version: str
    _deliveries: list[DeliveryRecord]
    _initial_notice_on: date | None
    _health: list[HealthAuthorizationRecord]
    _dirty: bool

    if TYPE_CHECKING:  # the lifecycle's own steps, defined by ConsumerRelationshipWorkflow

        @property
        def _tz(self) -> Any: ...
        def state(self) -> RelationshipState: ...
        async def _record(self, type_: str, step: str, citation: str, *, actor: str = "worker", data: dict | None = None) -> None: ...
        async def _ledger(self, type_: str, step: str, citation: str, *, actor: str, data: dict, conflict: Any = None) -> None: ...
        async def _load_policy(self, version: str) -> Any: ...
        async def _write_stage(self) -> None: ...
        async def _open_window(self, delivery: DeliveryRecord) -> None: ...
        def _opt_out_in_effect(self) -> list[OptOutRecord]: ...

    # -- an initial notice given before the lifecycle started ---------------------------------------

    def _imports_initial_notice(self) -> bool:
        """The start brings an initial notice given earlier (checked once, at the start)."""
        return self._inp.initial_notice_given is not None and workflow.patched(IMPORT_PATCH)

    async def _take_over_initial_notice(self) -> None:
        """28 TAC § 22.8(a): the initial notice was given (mailed, handed over, e-mailed) before the
        lifecycle started; it is recorded here as given then, not sent again, and its reasonable
        opportunity to opt out runs from its delivery (§ 22.14(b)) — a window that has passed by
        now closes at the lifecycle's first step."""
        given: GivenNotice | None = self._inp.initial_notice_given
        assert given is not None
        version = given.policy_version or self._policy_version
        await self._load_policy(version)
        delivery = DeliveryRecord(
            delivery_key=f"{self._inp.relationship_id}/{given.notice_id}",
            relationship_id=self._inp.relationship_id,
            notice_id=given.notice_id,
            kind=NoticeKind.INITIAL,
            policy_version=version,
            includes_opt_out_notice=given.includes_opt_out_notice,
            channel=given.channel,
            status=DeliveryStatus.ACKNOWLEDGED if given.acknowledged_at else DeliveryStatus.SENT,
            delivered_at=given.delivered_at,
            acknowledged_at=given.acknowledged_at,
            consumer_agreed_electronic=given.consumer_agreed_electronic,
        )
        delivery = await quick_step(RECORD_PRESENTED, delivery, result_type=DeliveryRecord)
        await self._record(
            "initial_notice.imported", f"initial/{version}/imported", CITE_IMPORTED, actor=_actor(self._inp.started_by),
            data={"notice_id": given.notice_id, "delivery_key": delivery.delivery_key, "policy_version": version,
                  "channel": given.channel.value, "mailed_at": iso(given.delivered_at),
                  "acknowledged_at": iso(given.acknowledged_at) if given.acknowledged_at else None,
                  "with_opt_out_notice": given.includes_opt_out_notice, "consumers": len(self._inp.consumer_refs),
                  "source": "imported with the relationship: given before its lifecycle started, not sent again"},
        )
        self._deliveries.append(delivery)
        self._initial_notice_on = given.delivered_at.astimezone(self._tz).date()
        await self._write_stage()
        if delivery.includes_opt_out_notice:
            await self._open_window(delivery)

    # -- health-information authorizations ------------------------------------------------------------

    def _health_for(self, question: GateQuestion) -> list[HealthAuthorization]:
        """The authorizations the gate may rely on for ``question``: the asked consumer's, or — when
        none is named — every consumer's of a relationship of one; a joint relationship's question
        names the consumer (one consumer's authorization does not reach the other's information)."""
        if question.consumer_ref is not None:
            return [h.authorization for h in self._health if h.consumer_ref == question.consumer_ref]
        if len(self._inp.consumer_refs) == 1:
            return [h.authorization for h in self._health]
        return []

    def _check_health(self, req: HealthAuthorizationRequest) -> None:
        require_active(self._stage, self._close is not None, "record a health authorization")
        check_health_authorization(req, known=self._health, consumer_refs=self._inp.consumer_refs,
                                   relationship_id=self._inp.relationship_id, now=workflow.now())

    @workflow.update
    async def record_health_authorization(self, req: HealthAuthorizationRequest) -> RelationshipState:
        """28 TAC §§ 22.53–22.55: health information goes out only under a written authorization
        received before the disclosure; valid for the period it states, at most 24 months
        (§ 22.54(2), reported). Ledgered with its validity, then relied on by the gate."""
        async with self._lock:
            self._check_health(req)
            now = workflow.now()
            authorization = req.authorization()
            status = call_rules(health_authorization_status, authorization, now, self._inp.jurisdiction)
            await self._ledger(
                "health_authorization.recorded", f"health/{req.authorization_id}",
                f"{CITE_HEALTH_AUTHORIZATION}; {CITE_HEALTH_DURATION}", actor=_actor(req.recorded_by),
                data={"authorization_id": req.authorization_id, "consumer_ref": req.consumer_ref,
                      "signed_at": iso(req.signed_at), "signed_by": req.signed_by,
                      "valid_until": iso(req.valid_until) if req.valid_until else None,
                      "expires_at": iso(status.expires_at), "valid_now": status.valid,
                      "information_types": list(req.information_types), "recipients": list(req.recipients),
                      "purpose": req.purpose, "needs_counsel_review": True,
                      "counsel_review_reasons": [HEALTH_RULES_REVIEW, *status.counsel_review_reasons]},
            )
            self._health.append(HealthAuthorizationRecord(consumer_ref=req.consumer_ref, authorization=authorization, recorded_at=now))
            self._dirty = True
            return self.state()

    @record_health_authorization.validator
    def _validate_health(self, req: HealthAuthorizationRequest) -> None:
        self._check_health(req)

    def _check_health_revocation(self, req: HealthRevocationRequest) -> None:
        require_active(self._stage, self._close is not None, "revoke a health authorization")
        check_health_revocation(req, known=self._health, now=workflow.now())

    @workflow.update
    async def revoke_health_authorization(self, req: HealthRevocationRequest) -> RelationshipState:
        """28 TAC § 22.56: the consumer may revoke at any time; the gate stops relying on the
        authorization on receipt, and the revocation is effected within 15 days (reported)."""
        async with self._lock:
            self._check_health_revocation(req)
            received = req.received_at or workflow.now()
            record = next(h for h in self._health if h.authorization.authorization_id == req.authorization_id)
            revoked = record.authorization.model_copy(
                update={"revocation_received_at": received, "revocation_in_writing_signed": req.in_writing_signed}
            )
            status = call_rules(health_authorization_status, revoked, received, self._inp.jurisdiction)
            await self._ledger(
                "health_authorization.revoked", f"health/{req.authorization_id}/revoked", f"{CITE_HEALTH_REVOCATION}(a), (e)",
                actor=_actor(req.recorded_by),
                data={"authorization_id": req.authorization_id, "consumer_ref": record.consumer_ref,
                      "received_at": iso(received), "in_writing_signed": req.in_writing_signed,
                      "revocation_effective_by": iso(status.revocation_effective_by) if status.revocation_effective_by else None,
                      "needs_counsel_review": True,
                      "counsel_review_reasons": [HEALTH_RULES_REVIEW, *status.counsel_review_reasons]},
            )
            self._health = [
                record.model_copy(update={"authorization": revoked}) if h is record else h for h in self._health
            ]
            self._dirty = True
            return self.state()

    @revoke_health_authorization.validator
    def _validate_health_revocation(self, req: HealthRevocationRequest) -> None:
        self._check_health_revocation(req)
