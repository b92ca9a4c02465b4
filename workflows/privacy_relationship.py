"""One durable workflow per consumer relationship, id ``privacy-relationship-<relationship_id>``
(SPEC §4; 28 TAC §§ 22.5, 22.8, 22.9, 22.11–22.14; 18 Del. Admin. Code § 904-1.11).

opened → initial notice (+ opt-out notice) → reasonable opportunity to opt out → disclosure opened
(or held by an opt-out) → annual notice once in every licensee-defined 12-month period while the
customer relationship lasts → relationship ended (no more annual notices; opt-outs still honoured)
→ closed. Opt-out elections and revocations arrive at any time as validated updates and take
effect before the update returns. Continue-as-new after every annual cycle (and whenever the
history grows past ``max_history_events``) keeps each run's history small for decades.

The rules decide; this class only sequences them: timing of notices, windows and relationship end
come from ``rules.relationship`` and ``rules.disclosure`` through ``call_rules``. The updates and
signals (what people and other lifecycles send) are in ``workflows/privacy_relationship_steps.py``.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.actors import step_actor as _actor
    from models.privacy import (
        ConsumerRelationship,
        DisclosureDecision,
        DisclosureRequest,
        NoticeKind,
        RelationshipStatus,
    )
    from models.privacy_lifecycle import (
        AnnualNoticeDue,
        CloseRelationship,
        DeliveryRecord,
        DeliveryStatus,
        DisclosureOpening,
        GateQuestion,
        LoadPolicyInput,
        NoticeDeliveryRequest,
        NoticeDeliveryResult,
        OpeningStatus,
        OptOutRecord,
        PrivacyPolicyRecord,
        RelationshipCarry,
        RelationshipStage,
        RelationshipStart,
        RelationshipState,
        RelationshipStatusChange,
        WindowState,
    )
    from rules.calendar import add_months, state_zone
    from rules.disclosure import (
        CITE_CONDITIONS,
        CITE_OPPORTUNITY_ISOLATED,
        reasonable_opportunity,
    )
    from rules.disclosure import decide_disclosure as decide
    from rules.jurisdictions import ANNUAL_NOTICE_PERIOD_MONTHS
    from rules.privacy_notices import simplified_notice_permitted
    from rules.relationship import (
        annual_notice_schedule,
        relationship_end_candidates,
        relationship_status,
    )

from workflows import search_attributes as sa
from workflows.common import QUICK, iso, markdown_deadline, quick_step, record
from workflows.privacy_checks import (
    CITE_DELIVERY,
    CITE_FORMER,
    CITE_INITIAL,
    CITE_RELATIONSHIP,
)
from workflows.privacy_relationship_steps import RelationshipSteps
from workflows.rules_call import call_rules

# Activity names (registered by ``activities/privacy.py``).
LOAD_POLICY = "privacy_load_policy"
DELIVER_NOTICE = "privacy_deliver_notice"
RECORD_PRESENTED = "privacy_record_presented_notice"
RECORD_OPENING = "privacy_record_opening"
UPDATE_RELATIONSHIP = "privacy_update_relationship"

DELIVERY_OPTIONS = {
    "start_to_close_timeout": timedelta(hours=1),
    "heartbeat_timeout": None,
    "retry_policy": QUICK["retry_policy"],
}

CITE_ANNUAL = "28 TAC § 22.9(a)"
CITE_CONTENT = "28 TAC § 22.10"
CITE_REVISED = "28 TAC § 22.12"
CITE_JOINT = "28 TAC § 22.13(h)"
#: Windows, delivered notices and decisions kept in the carried state (older ones are in the store and ledger).
KEEP_CLOSED_WINDOWS = 10
KEEP_PERIODS = 5


def relationship_workflow_id(relationship_id: str) -> str:
    """``privacy-relationship-<relationship_id>``: the relationship's opaque id, never NPI."""
    return f"privacy-relationship-{relationship_id}"


@workflow.defn(name="ConsumerRelationshipWorkflow")
class ConsumerRelationshipWorkflow(RelationshipSteps):
    @workflow.init
    def __init__(self, inp: RelationshipStart) -> None:
        self._inp = inp
        carry = inp.carry
        if carry is not None:
            self._rel = carry.relationship
            self._stage = carry.stage
            self._policy_version = carry.policy_version
            self._policies = {p.version_id: p for p in carry.policies}
            self._deliveries = list(carry.deliveries)
            self._opt_outs = list(carry.opt_outs)
            self._windows = list(carry.windows)
            self._initial_notice_on = carry.initial_notice_on
            self._annual_given = carry.annual_notices_given
            self._last_annual = carry.last_annual_notice_on
            self._served = list(carry.annual_periods_served)
            self._refused = carry.refused_notices
            self._returned = carry.returned_mail
            self._decisions = carry.decisions
            self._policy_changes = carry.policy_changes
            self._retries = carry.notice_retries
            self._runs = carry.runs + 1
            self._ended = carry.ended
            self._blocked = carry.notice_blocked
            self._disclosure_planned = carry.disclosure_planned
            self._health = list(carry.health_authorizations)
        else:
            self._rel = ConsumerRelationship(
                consumer_ref=inp.relationship_id,
                is_customer=inp.is_customer,
                established_at=inp.established_at,
                isolated_transaction=inp.isolated_transaction,
            )
            if inp.isolated_transaction:
                self._stage = RelationshipStage.ISOLATED_TRANSACTION
            else:
                self._stage = RelationshipStage.CUSTOMER if inp.is_customer else RelationshipStage.CONSUMER
            self._policy_version = inp.policy_version
            self._policies: dict[str, PrivacyPolicyRecord] = {}
            self._deliveries: list[DeliveryRecord] = []
            self._opt_outs: list[OptOutRecord] = []
            self._windows: list[WindowState] = []
            self._initial_notice_on: date | None = None
            self._annual_given = 0
            self._last_annual: date | None = None
            self._served: list[date] = []
            self._refused = 0
            self._returned = 0
            self._decisions = 0
            self._policy_changes = 0
            self._retries = 0
            self._runs = 1
            self._ended: RelationshipStatus | None = None
            self._blocked: str | None = None
            self._disclosure_planned = False
            self._health = []
        self._lock = asyncio.Lock()
        self._dirty = False
        self._annual_signal: AnnualNoticeDue | None = None
        self._pending_policy: str | None = None
        #: Revised notices the revised-notice lifecycle delivered here, to be recorded by the run.
        self._handed_over: list[DeliveryRecord] = []
        self._close: CloseRelationship | None = None
        self._cycle_done = False
        self._overdue_recorded: set[date] = set()
        self._decision_ids: set[str] = set()

    # =========================================================================================
    # The lifecycle
    # =========================================================================================

    @workflow.run
    async def run(self, inp: RelationshipStart) -> RelationshipState:
        async with self._lock:
            if inp.carry is None:
                await self._begin()
            elif self._policy_version not in self._policies:
                await self._load_policy(self._policy_version)
        while self._close is None:
            if self._cycle_done or self._history_too_long():
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._lock.locked())
                # A signal that arrived meanwhile is handled in this run: nothing pending is carried.
                if self._close is None and not self._work_pending():
                    workflow.continue_as_new(self._carry_input())
            self._publish()
            wake = self._next_wake()
            timeout = None if wake is None else max(wake - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda: self._dirty or self._close is not None or self._work_pending(), timeout=timeout
                )
            except TimeoutError:
                pass
            self._dirty = False
            async with self._lock:
                if self._close is None:
                    await self._tick()
        # The ``close`` update ledgered the closing; the store learns the stage now.
        async with self._lock:
            await self._write_stage()
            self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _work_pending(self) -> bool:
        return self._annual_signal is not None or self._pending_policy is not None or bool(self._handed_over)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > self._inp.max_history_events

    def _carry_input(self) -> RelationshipStart:
        closed = [w for w in self._windows if w.closed][-KEEP_CLOSED_WINDOWS:]
        carry = RelationshipCarry(
            relationship=self._rel,
            stage=self._stage,
            policy_version=self._policy_version,
            policies=[p for v, p in sorted(self._policies.items()) if v in self._versions_in_use()],
            deliveries=self._deliveries,
            opt_outs=self._opt_outs,
            windows=[*closed, *(w for w in self._windows if not w.closed)],
            initial_notice_on=self._initial_notice_on,
            annual_notices_given=self._annual_given,
            last_annual_notice_on=self._last_annual,
            annual_periods_served=self._served[-KEEP_PERIODS:],
            refused_notices=self._refused,
            returned_mail=self._returned,
            decisions=self._decisions,
            policy_changes=self._policy_changes,
            notice_retries=self._retries,
            runs=self._runs,
            ended=self._ended,
            notice_blocked=self._blocked,
            disclosure_planned=self._disclosure_planned,
            health_authorizations=self._health,
        )
        return self._inp.model_copy(update={"carry": carry})

    def _versions_in_use(self) -> set[str]:
        return {self._policy_version, *(d.policy_version for d in self._deliveries if d.policy_version)}

    async def _tick(self) -> None:
        """Everything that is due now, in the order the rules need it."""
        if self._pending_policy is not None:
            await self._change_policy(self._pending_policy)
        while self._handed_over:
            await self._take_over(self._handed_over.pop(0))
        if self._blocked is None and self._initial_notice_on is None and self._initial_owed():
            await self._give_initial_notice()
        await self._check_end()
        for window in [w for w in self._windows if not w.closed]:
            if window.disclosure_allowed_from is not None and workflow.now() >= window.disclosure_allowed_from:
                await self._close_window(window)
        await self._annual_step()

    # -- opening --------------------------------------------------------------------------------

    @property
    def _stream(self) -> str:
        return f"privacy:{self._inp.relationship_id}"

    @property
    def _tz(self):  # type: ignore[no-untyped-def]
        return call_rules(state_zone, self._inp.jurisdiction)

    def _today(self) -> date:
        return workflow.now().astimezone(self._tz).date()

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self._tz)

    async def _record(self, type_: str, step: str, citation: str, *, actor: str = "worker", data: dict | None = None) -> None:
        await record(self._stream, type_, step, jurisdiction=self._inp.jurisdiction, citation=citation, actor=actor,
                     data={"relationship_id": self._inp.relationship_id, **(data or {})})

    async def _begin(self) -> None:
        inp = self._inp
        if self._rel.established_at is None:
            self._rel = self._rel.model_copy(update={"established_at": workflow.now()})
        await self._load_policy(inp.policy_version)
        kind = {
            RelationshipStage.CUSTOMER: "a customer relationship (28 TAC § 22.5(a))",
            RelationshipStage.CONSUMER: "a consumer without a continuing relationship (28 TAC § 22.5(b))",
            RelationshipStage.ISOLATED_TRANSACTION: "an isolated transaction (28 TAC § 22.5(b)(2))",
        }[self._stage]
        await self._record(
            "privacy_relationship.opened", "opened", CITE_RELATIONSHIP, actor=_actor(inp.started_by),
            data={
                "stage": self._stage.value,
                "what": kind,
                "consumers": list(inp.consumer_refs),
                "joint": len(inp.consumer_refs) > 1,
                "joint_citation": CITE_JOINT if len(inp.consumer_refs) > 1 else None,
                "established_at": iso(self._rel.established_at),
                "policy_version": inp.policy_version,
                "annual_period": inp.annual_period.model_dump(mode="json"),
            },
        )
        await self._write_stage()
        if self._stage is RelationshipStage.ISOLATED_TRANSACTION:
            await self._record_transaction_notice()
        elif self._imports_initial_notice():
            await self._take_over_initial_notice()
        elif self._initial_owed():
            await self._give_initial_notice()
        else:
            await self._record(
                "initial_notice.not_yet_owed", "initial-not-yet-owed", f"{CITE_INITIAL}(a)(2)",
                data={"reason": "to a consumer who is not a customer, the initial and opt-out notices are owed before a "
                                "disclosure to a nonaffiliated third party outside §§ 22.18–22.19; none is planned"},
            )

    def _initial_owed(self) -> bool:
        if self._stage is RelationshipStage.CUSTOMER:
            return True
        return self._stage is RelationshipStage.CONSUMER and (self._inp.notify_consumer_before_disclosure or self._disclosure_planned)

    async def _load_policy(self, version: str) -> PrivacyPolicyRecord:
        record_ = self._policies.get(version)
        if record_ is None:
            record_ = await quick_step(LOAD_POLICY, LoadPolicyInput(version_id=version), result_type=PrivacyPolicyRecord)
            self._policies[version] = record_
        return record_

    async def _write_stage(self) -> None:
        await quick_step(
            UPDATE_RELATIONSHIP,
            RelationshipStatusChange(
                relationship_id=self._inp.relationship_id,
                stage=self._stage,
                policy_version=self._policy_version,
                ended_on=self._ended.ended_on if self._ended else None,
                end_reason=self._ended.reason if self._ended else None,
                end_citation=self._ended.citation if self._ended else None,
                next_annual_due=self._next_annual_due(),
                last_annual_notice_on=self._last_annual,
                transaction_completed_at=self._rel.transaction_completed_at,
                workflow_id=workflow.info().workflow_id,
            ),
            result_type=int,
        )

    # -- notices --------------------------------------------------------------------------------

    def _opt_out_notice_needed(self) -> bool:
        """An opt-out notice goes with the notice when the policy discloses to nonaffiliated third
        parties outside the exceptions (the simplified notice of § 22.10(a) is then not allowed)."""
        return not call_rules(simplified_notice_permitted, self._policies[self._policy_version].policy)

    async def _deliver(self, kind: NoticeKind, notice_id: str, citation: str, step: str) -> DeliveryRecord | None:
        """Deliver one notice; a notice whose content fails § 22.10 is refused and recorded."""
        with_opt_out = kind is not NoticeKind.ANNUAL and self._opt_out_notice_needed()
        try:
            result: NoticeDeliveryResult = await workflow.execute_activity(
                DELIVER_NOTICE,
                NoticeDeliveryRequest(
                    relationship_id=self._inp.relationship_id,
                    notice_id=notice_id,
                    kind=kind,
                    policy_version=self._policy_version,
                    include_opt_out_notice=with_opt_out,
                    as_of=workflow.now(),
                ),
                result_type=NoticeDeliveryResult,
                **DELIVERY_OPTIONS,  # type: ignore[arg-type]
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "NoticeLintFailed":
                findings = list(cause.details[0]) if cause.details else []
                await self._record(
                    f"{kind.value}_notice.refused", f"{step}/refused/{self._refused + 1}", CITE_CONTENT,
                    data={"policy_version": self._policy_version, "findings": [
                        {"item": f["item"], "problem": f["problem"], "citation": f["citation"]} for f in findings]},
                )
                self._refused += 1
                self._blocked = (
                    f"the {kind.value} notice for policy {self._policy_version} fails {CITE_CONTENT}(b); correct the notice "
                    "text under a new policy version"
                )
                return None
            raise
        delivery = result.delivery
        outcome = "sent" if delivery.status.gives_notice else delivery.status.value
        await self._record(
            f"{kind.value}_notice.{outcome}", step, f"{citation}; {result.citation}",
            data={
                "notice_id": notice_id,
                "delivery_key": delivery.delivery_key,
                "policy_version": self._policy_version,
                "with_opt_out_notice": delivery.includes_opt_out_notice,
                "channel": delivery.channel.value,
                "channel_basis": result.channel_basis,
                "status": delivery.status.value,
                "mailed_at": iso(delivery.delivered_at),
                "documents": [{"sha256": d.sha256, "media_type": d.media_type, "kind": d.kind.value} for d in result.documents],
                "consumers": len(self._inp.consumer_refs),
                "joint": len(self._inp.consumer_refs) > 1,
            },
        )
        self._deliveries.append(delivery)
        if delivery.status.gives_notice and delivery.includes_opt_out_notice:
            await self._open_window(delivery)
        return delivery

    async def _give_initial_notice(self) -> None:
        """28 TAC § 22.8: to a customer no later than when the relationship is established; to a
        consumer before a non-excepted disclosure. Joint relationships: one notice (§ 22.13(h))."""
        suffix = f"-r{self._retries}" if self._retries else ""
        delivery = await self._deliver(
            NoticeKind.INITIAL, f"initial-{self._policy_version}{suffix}", f"{CITE_INITIAL}(a)", f"initial/{self._policy_version}{suffix}"
        )
        if delivery is not None and delivery.status.gives_notice:
            self._blocked = None
            self._initial_notice_on = delivery.delivered_at.astimezone(self._tz).date()
            await self._write_stage()
        elif delivery is not None:
            self._blocked = self._undelivered(delivery)

    def _undelivered(self, delivery: DeliveryRecord) -> str:
        """A notice no channel delivered: automatic attempts stop (never a retry loop) until a person
        asks for another attempt (``retry_notices``) after correcting the contact data."""
        return (
            f"the {delivery.kind.value} notice {delivery.notice_id} was {delivery.status.value} "
            f"({delivery.failure or 'no reason given'}); correct the contact data and ask retry_notices ({CITE_DELIVERY}(a))"
        )

    async def _record_transaction_notice(self) -> None:
        """28 TAC § 22.13(b)(4): in an isolated transaction the notices are presented and the
        consumer acknowledges them as a step to obtaining the product; the reasonable opportunity
        is to decide before the transaction is completed (§ 22.14(b)(3))."""
        tn = self._inp.transaction_notice
        assert tn is not None
        delivery = DeliveryRecord(
            delivery_key=f"{self._inp.relationship_id}/{tn.notice_id}",
            relationship_id=self._inp.relationship_id,
            notice_id=tn.notice_id,
            kind=NoticeKind.INITIAL,
            policy_version=self._policy_version,
            includes_opt_out_notice=True,
            channel=tn.channel,
            status=DeliveryStatus.ACKNOWLEDGED if tn.acknowledged_at else DeliveryStatus.SENT,
            delivered_at=tn.presented_at,
            acknowledged_at=tn.acknowledged_at,
            isolated_transaction=True,
        )
        delivery = await quick_step(RECORD_PRESENTED, delivery, result_type=DeliveryRecord)
        await self._record(
            "initial_notice.presented", f"initial/{self._policy_version}", f"{CITE_DELIVERY}(b)(4); {CITE_OPPORTUNITY_ISOLATED}",
            data={"notice_id": tn.notice_id, "channel": tn.channel.value, "presented_at": iso(tn.presented_at),
                  "acknowledged_at": iso(tn.acknowledged_at) if tn.acknowledged_at else None, "with_opt_out_notice": True},
        )
        self._deliveries.append(delivery)
        self._initial_notice_on = tn.presented_at.astimezone(self._tz).date()
        await self._open_window(delivery)

    async def _take_over(self, delivery: DeliveryRecord) -> None:
        """A revised notice the revised-notice lifecycle delivered to this relationship (28 TAC
        § 22.12): recorded on this relationship's stream, and its reasonable opportunity runs here."""
        if any(d.notice_id == delivery.notice_id for d in self._deliveries):
            return
        await self._record(
            "revised_notice.handed_over", f"revised/{delivery.notice_id}", f"{CITE_REVISED}; {CITE_DELIVERY}",
            data={"notice_id": delivery.notice_id, "delivery_key": delivery.delivery_key, "policy_version": delivery.policy_version,
                  "with_opt_out_notice": delivery.includes_opt_out_notice, "channel": delivery.channel.value,
                  "status": delivery.status.value, "mailed_at": iso(delivery.delivered_at), "batch_id": delivery.batch_id},
        )
        self._deliveries.append(delivery)
        if delivery.status.gives_notice and delivery.includes_opt_out_notice:
            await self._open_window(delivery)

    # -- the reasonable opportunity to opt out ------------------------------------------------------

    async def _open_window(self, delivery: DeliveryRecord) -> None:
        window = call_rules(reasonable_opportunity, delivery.as_notice_delivery(), self._rel, self._inp.jurisdiction)
        state = WindowState(
            notice_id=delivery.notice_id,
            policy_version=delivery.policy_version or self._policy_version,
            opens_at=window.opens_at,
            disclosure_allowed_from=window.disclosure_allowed_from,
            citation=window.citation,
            example=window.example,
        )
        await self._record(
            "opt_out.window_opened", f"window/{delivery.notice_id}/opened", window.citation,
            data={"notice_id": delivery.notice_id, "example": window.example, "opens_at": iso(window.opens_at),
                  "disclosure_allowed_from": iso(window.disclosure_allowed_from) if window.disclosure_allowed_from else None,
                  "reasons": [r.message for r in window.reasons]},
        )
        self._windows = [w for w in self._windows if w.notice_id != delivery.notice_id] + [state]

    def _opt_out_in_effect(self) -> list[OptOutRecord]:
        """Elections not revoked in writing or electronically (an oral revocation does not end one)."""
        return [o for o in self._opt_outs if o.revocation_received_at is None or o.revocation_form == "oral"]

    async def _close_window(self, window: WindowState) -> None:
        """28 TAC § 22.14(a): the disclosures the notice describes may start once the reasonable
        opportunity has passed and the consumer has not opted out; an opt-out holds them."""
        delivery = next((d for d in self._deliveries if d.notice_id == window.notice_id), None)
        index = self._windows.index(window)
        if delivery is not None and not delivery.status.gives_notice:
            await self._record(
                "opt_out.window_void", f"window/{window.notice_id}/void", f"{CITE_DELIVERY}(a)",
                data={"notice_id": window.notice_id, "reason": f"the notice was {delivery.status.value}: it gave no actual notice"},
            )
            self._windows[index] = window.model_copy(update={"closed": True})
            return
        held = self._opt_out_in_effect()
        outcome = OpeningStatus.HELD_BY_OPT_OUT if held else OpeningStatus.OPENED
        assert window.disclosure_allowed_from is not None
        citation = f"{CITE_CONDITIONS}; {window.citation}"
        await quick_step(
            RECORD_OPENING,
            DisclosureOpening(
                relationship_id=self._inp.relationship_id,
                policy_version=window.policy_version,
                status=outcome,
                opened_at=window.disclosure_allowed_from,
                notice_id=window.notice_id,
                citation=citation,
            ),
            result_type=int,
        )
        await self._record(
            "opt_out.window_closed", f"window/{window.notice_id}/closed", citation,
            data={"notice_id": window.notice_id, "policy_version": window.policy_version, "outcome": outcome.value,
                  "disclosure_allowed_from": iso(window.disclosure_allowed_from),
                  "opt_outs_in_effect": [o.election_id for o in held]},
        )
        self._windows[index] = window.model_copy(update={"closed": True, "outcome": outcome})

    # -- relationship end --------------------------------------------------------------------------

    async def _check_end(self) -> None:
        """28 TAC § 22.9(b): a former customer gets no annual notice. Checked on every wake-up;
        the next end that may occur (a lapse reaching 12 months' silence) is a timer."""
        if self._stage is not RelationshipStage.CUSTOMER:
            return
        status = call_rules(relationship_status, self._rel, self._today())
        if status.is_customer or status.ended_on is None:
            return
        await self._record(
            "privacy_relationship.ended", "ended", status.citation or CITE_FORMER,
            data={"ended_on": status.ended_on.isoformat(), "reason": status.reason,
                  "annual_notices": f"stop: none to a former customer ({CITE_FORMER})",
                  "opt_outs_in_effect": [o.election_id for o in self._opt_out_in_effect()]},
        )
        self._ended = status
        self._stage = RelationshipStage.FORMER_CUSTOMER
        await self._write_stage()

    def _next_end_candidate(self) -> date | None:
        if self._stage is not RelationshipStage.CUSTOMER:
            return None
        today = self._today()
        future = [d for d, _, _ in call_rules(relationship_end_candidates, self._rel) if d > today]
        return min(future, default=None)

    # -- annual notices ------------------------------------------------------------------------------

    def _next_annual_due(self) -> date | None:
        """The last day of the next 12-month period whose annual notice is owed (28 TAC § 22.9(a)),
        the period as the licensee defined it; None when none is owed (not a customer)."""
        if self._stage is not RelationshipStage.CUSTOMER or self._initial_notice_on is None:
            return None
        period = self._inp.annual_period
        through = add_months(self._today(), 2 * ANNUAL_NOTICE_PERIOD_MONTHS)
        schedule = call_rules(
            annual_notice_schedule, self._initial_notice_on, period, self._rel, through,
            self._last_annual if period.kind == "rolling_12_months" else None,
        )
        last_served = max(self._served, default=None)
        for due in schedule.due_dates:
            if last_served is None or due > last_served:
                return due
        return None

    def _annual_send_at(self, due: date) -> datetime:
        """Send ``annual_send_lead_days`` before the period ends, never before the period starts."""
        period_start = add_months(due, -ANNUAL_NOTICE_PERIOD_MONTHS) + timedelta(days=1)
        return self._start_of(max(period_start, due - timedelta(days=self._inp.annual_send_lead_days)))

    async def _annual_step(self) -> None:
        signal, self._annual_signal = self._annual_signal, None
        due = self._next_annual_due()
        if due is None:
            return
        now = workflow.now()
        period_start = self._start_of(add_months(due, -ANNUAL_NOTICE_PERIOD_MONTHS) + timedelta(days=1))
        asked = signal is not None and due <= signal.period_end and now >= period_start
        if self._blocked is None and (asked or now >= self._annual_send_at(due)):
            suffix = f"-r{self._retries}" if self._retries else ""
            delivery = await self._deliver(
                NoticeKind.ANNUAL, f"annual-{due.isoformat()}{suffix}", CITE_ANNUAL, f"annual/{due.isoformat()}{suffix}"
            )
            if delivery is not None and not delivery.status.gives_notice:
                self._blocked = self._undelivered(delivery)
            if delivery is not None and delivery.status.gives_notice:
                self._served.append(due)
                self._served = self._served[-KEEP_PERIODS:]
                self._annual_given += 1
                self._last_annual = delivery.delivered_at.astimezone(self._tz).date()
                await self._write_stage()
                self._cycle_done = True
                return
        if self._today() > due and due not in self._overdue_recorded:
            self._overdue_recorded.add(due)
            await self._record(
                "annual_notice.overdue", f"annual/{due.isoformat()}/overdue", CITE_ANNUAL,
                data={"period_end": due.isoformat(), "waiting_for": self._waiting_for()},
            )

    # -- policy changes --------------------------------------------------------------------------------

    async def _change_policy(self, version: str) -> None:
        """Signal ``policy_changed``: a version the store does not hold is refused and recorded (a
        signal cannot be refused to its sender), and the policy in force stays as it was."""
        self._pending_policy = None
        if version == self._policy_version:
            return
        previous = self._policy_version
        try:
            await self._load_policy(version)
        except ActivityError as err:
            if not (isinstance(err.cause, ApplicationError) and err.cause.type == "PrivacyNotFound"):
                raise
            await self._record(
                "privacy_relationship.policy_change_refused", f"policy/refused/{previous}/{version}", CITE_REVISED,
                data={"from": previous, "to": version, "reason": "the privacy store holds no policy version by this id",
                      "policy_in_force": previous},
            )
            return
        await self._record(
            "privacy_relationship.policy_changed", f"policy/{self._policy_changes + 1}/{version}", CITE_REVISED,
            data={"from": previous, "to": version,
                  "note": "a revised notice, where the change needs one, is delivered by the revised-notice lifecycle"},
        )
        self._policy_version = version
        self._policy_changes += 1
        self._blocked = None  # held notices are tried again with the new version's text
        await self._write_stage()

    # -- when to wake --------------------------------------------------------------------------------

    def _next_wake(self) -> datetime | None:
        moments: list[datetime] = [
            w.disclosure_allowed_from for w in self._windows if not w.closed and w.disclosure_allowed_from is not None
        ]
        due = self._next_annual_due()
        if due is not None:
            if self._blocked is None:
                moments.append(self._annual_send_at(due))
            if due not in self._overdue_recorded:
                moments.append(self._start_of(due + timedelta(days=1)))
        end = self._next_end_candidate()
        if end is not None:
            moments.append(self._start_of(end))
        return min(moments, default=None)

    # =========================================================================================
    # The disclosure gate
    # =========================================================================================

    def _disclosure_request(self, question: GateQuestion, as_of: datetime) -> DisclosureRequest:
        notices = [d.as_notice_delivery() for d in self._deliveries if d.status.gives_notice]
        versions = {self._policy_version, *(n.policy_version for n in notices if n.policy_version)}
        return DisclosureRequest(
            request_id=question.request_id,
            as_of=as_of,
            jurisdiction=self._inp.jurisdiction,
            relationship=self._rel,
            information_type=question.information_type,
            npi_category=question.npi_category,
            recipient=question.recipient,
            purpose=question.purpose,
            exception_claimed=question.exception_claimed,
            contract_limits_use=question.contract_limits_use,
            account_number=question.account_number,
            policy_in_force=self._policy_version,
            policy_versions=[self._policies[v].policy for v in sorted(versions) if v in self._policies],
            notices=notices,
            opt_outs=[o.as_election() for o in self._opt_outs],
            opt_out_revocations=[r for r in (o.as_revocation() for o in self._opt_outs) if r is not None],
            health_authorizations=self._health_for(question),
        )

    @workflow.query
    def disclosure_decision(self, question: GateQuestion) -> DisclosureDecision:
        """The gate's answer from the lifecycle state as of the last step (read-only: not ledgered;
        use the ``decide_disclosure`` update for a decision of record)."""
        return call_rules(decide, self._disclosure_request(question, workflow.now()))

    # =========================================================================================
    # What operators see
    # =========================================================================================

    def _waiting_for(self) -> str:
        if self._stage is RelationshipStage.CLOSED:
            return "nothing: closed"
        if self._blocked is not None:
            return f"a person: {self._blocked}"
        open_windows = [w for w in self._windows if not w.closed]
        if open_windows:
            w = open_windows[0]
            if w.disclosure_allowed_from is None:
                return "completion of the isolated transaction (the consumer decides on opting out before it)"
            return f"the reasonable opportunity to opt out to pass ({markdown_deadline(w.disclosure_allowed_from)}, {w.citation})"
        due = self._next_annual_due()
        if due is not None:
            return f"the annual notice for the period ending {due.isoformat()} ({CITE_ANNUAL})"
        if self._stage is RelationshipStage.CONSUMER and self._initial_notice_on is None:
            return "a planned disclosure (initial and opt-out notices are owed before it, § 22.8)"
        return "opt-out elections or revocations (honoured at any time)"

    @workflow.query
    def state(self) -> RelationshipState:
        due = self._next_annual_due()
        return RelationshipState(
            relationship_id=self._inp.relationship_id,
            workflow_id=workflow.info().workflow_id,
            jurisdiction=self._inp.jurisdiction,
            consumer_refs=list(self._inp.consumer_refs),
            joint=len(self._inp.consumer_refs) > 1,
            stage=self._stage,
            policy_version=self._policy_version,
            relationship=self._rel,
            deliveries=list(self._deliveries),
            opt_outs=list(self._opt_outs),
            opt_out_in_effect=bool(self._opt_out_in_effect()),
            windows=list(self._windows),
            initial_notice_on=self._initial_notice_on,
            annual_notices_given=self._annual_given,
            last_annual_notice_on=self._last_annual,
            next_annual_due=due,
            next_annual_send_at=self._annual_send_at(due) if due is not None else None,
            ended=self._ended,
            notice_blocked=self._blocked,
            waiting_for=self._waiting_for(),
            runs=self._runs,
            decisions=self._decisions,
            health_authorizations=list(self._health),
        )

    def _publish(self) -> None:
        """Search attributes (no consumer, no NPI) and the UI's current details."""
        wake = self._next_wake()
        due = self._next_annual_due()
        overdue = due is not None and self._today() > due
        sa.upsert(
            [
                sa.OBLIGATION_KIND.value_set("privacy_relationship"),
                sa.STAGE.value_set(self._stage.value),
                sa.JURISDICTIONS.value_set([self._inp.jurisdiction]),
                sa.OVERDUE.value_set(overdue),
                sa.NEXT_DEADLINE.value_set(wake) if wake is not None else sa.NEXT_DEADLINE.value_unset(),
            ]
        )
        lines = [
            f"**Privacy relationship {self._inp.relationship_id}** — **{self._stage.value}**"
            + (f", joint ({len(self._inp.consumer_refs)} consumers)" if len(self._inp.consumer_refs) > 1 else ""),
            f"- policy in force: {self._policy_version}",
            f"- waiting for: {self._waiting_for()}",
            f"- opt-out in effect: {'yes' if self._opt_out_in_effect() else 'no'}",
            f"- annual notices given: {self._annual_given}" + (f"; next due by {due.isoformat()}" if due else ""),
        ]
        if self._ended is not None and self._ended.ended_on is not None:
            lines.append(f"- ended {self._ended.ended_on.isoformat()}: {self._ended.reason} ({self._ended.citation})")
        workflow.set_current_details("\n".join(lines))
