"""What the privacy lifecycles act on: policy versions and consumer relationships.

``POST /privacy/policies`` publishes a privacy-policy version with the text of its notices: the
notice is checked against 28 TAC § 22.10 first (a notice that fails is refused, 422 naming each
item), the publication is ledgered (``privacy_policy.published`` on ``privacy_policy:<version>``)
in the caller's name, then the version is registered in the privacy store. A version id names one
content for ever: the same content again is a no-op (200), other content under it is 409.
``compare_to`` returns the diff a revised-notice run would make (§ 22.12).

``POST /privacy/relationships`` registers consumers and their relationships in bulk — a JSON list
or a CSV, one row per consumer (``RelationshipUploadRow``) — with their notice history: an initial
notice already given is taken over by the lifecycle (its reasonable opportunity to opt out runs
from its date, § 22.14(b)), not sent again. All or nothing: every row is validated first (422 naming
``rows[n].<column>``, never a value; 415 for another media type; 413 past the roster limits,
``NOTICEFLOW_ROSTER_MAX_BYTES`` / ``_ROWS``); then each relationship's registration is ledgered
(``privacy_relationship.registered`` on ``privacy:<relationship_id>``, consumers by digest) in one
transaction; then the consumers' contact data is sealed and stored (``activities/contact_store.py``)
and the relationships registered; then — ``lifecycles=start``, the default — each relationship's
lifecycle workflow is started. ``lifecycles=none`` registers them in the store only: revised-notice
runs reach them, a later upload with ``lifecycles=start`` starts their lifecycles. The same upload
again records, stores and starts nothing twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from temporalio.client import RPCError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.privacy_documents import NoticeLintError, check_content
from activities.privacy_store import NotFoundError, PrivacyStore, record_sha256
from activities.roster import RosterMediaTypeError, RosterTooLargeError, RosterUploadError, media_type_of, parse_rows
from api.access import API_PREFIX, register_body_limit
from api.bounds import as_domain
from api.schemas import ErrorBody
from api.deps import Actor, ApiContext, Context
from api.errors import (
    ApiError,
    InvalidUpload,
    PayloadTooLarge,
    StepRefused,
    TemporalUnavailable,
    UnsupportedMediaType,
)
from api.privacy_common import (
    ERRORS,
    append_entries,
    in_thread,
    privacy_store,
    translate,
)
from api.privacy_schemas import (
    RELATIONSHIP_COLUMNS,
    REQUIRED_UPLOAD_COLUMNS,
    PolicyRecordBody,
    PublishedPolicy,
    RegistrationSummary,
    RelationshipUploadRow,
)
from ledger.npi import npi_digest
from models.ledger import EntryDraft
from models.privacy import DeliveryChannel, NoticeKind
from models.privacy_lifecycle import (
    DeliveryRecord,
    DeliveryStatus,
    GivenNotice,
    PrivacyConsumer,
    PrivacyPolicyRecord,
    RelationshipRecord,
    RelationshipStart,
)
from noticeflow.logging import get_logger
from rules.calendar import state_zone
from rules.disclosure import delivery_gives_actual_notice
from rules.npi import npi_problem
from rules.privacy_notices import diff_policies, simplified_notice_permitted
from workflows import priorities
from workflows.privacy_relationship import (
    ConsumerRelationshipWorkflow,
    relationship_workflow_id,
)

log = get_logger("noticeflow.api")

router = APIRouter()

#: Lifecycles one upload may start (each is a workflow start): a larger back file is registered
#: with ``lifecycles=none`` and started in parts.
MAX_LIFECYCLES_PER_UPLOAD = 10_000
#: Workflow starts in flight at once.
START_CONCURRENCY = 16
#: Rows whose errors a refusal lists (the rest are counted).
MAX_REPORTED_ROWS = 20
CITE_RELATIONSHIP = "28 TAC § 22.5"
CITE_INITIAL = "28 TAC § 22.8(a)"
CITE_CONTENT = "28 TAC § 22.10"
CLOCK_SKEW = timedelta(minutes=5)


# =============================================================================================
# Policy versions
# =============================================================================================


class PolicyNotFound(ApiError):
    status_code = 404


def _content_errors(exc: NoticeLintError) -> RequestValidationError:
    return RequestValidationError([
        {"loc": ("body", "notice"), "msg": f"{f.item} ({f.citation}): {f.message}", "type": f"privacy_notice_{f.problem}"}
        for f in exc.findings
    ])


def _policy_draft(record: PrivacyPolicyRecord, digest: str, actor: str) -> EntryDraft:
    policy = record.policy
    return EntryDraft(
        stream=f"privacy_policy:{policy.version_id}", type="privacy_policy.published",
        step=f"privacy-policy/{policy.version_id}/published", jurisdiction=policy.jurisdiction, citation=CITE_CONTENT,
        actor=actor,
        data={
            "version_id": policy.version_id, "jurisdiction": policy.jurisdiction, "effective_on": policy.effective_on.isoformat(),
            "sha256": digest, "notice_id": record.notice.notice_id, "notice_format": record.notice.format,
            "collects": list(policy.collects), "fcra_affiliate_sharing": policy.fcra_affiliate_sharing,
            "disclosures": [
                {"npi_category": d.npi_category, "recipient_kind": d.recipient_kind.value, "recipient_category": d.recipient_category,
                 "exception": d.exception.value, "about_former_customers": d.about_former_customers, "reserved_only": d.reserved_only}
                for d in policy.disclosures
            ],
        },
    )


def _publish(ctx: ApiContext, record: PrivacyPolicyRecord, actor: str, compare_to: str | None) -> PublishedPolicy:
    store = privacy_store(ctx)
    previous = None
    if compare_to is not None:
        try:
            previous = store.get_policy(compare_to)
        except NotFoundError:
            raise RequestValidationError([{"loc": ("query", "compare_to"), "type": "policy_version_unknown",
                                           "msg": f"no policy version {compare_to!r} is published"}]) from None
        if previous.policy.jurisdiction != record.policy.jurisdiction:
            raise RequestValidationError([{"loc": ("query", "compare_to"), "type": "jurisdiction_differs",
                                           "msg": f"{compare_to!r} is a {previous.policy.jurisdiction} policy, this one "
                                                  f"{record.policy.jurisdiction}: a revised notice compares versions of one policy"}])
    digest = record_sha256(record)
    try:
        existing = store.get_policy(record.version_id)
    except NotFoundError:
        existing = None
    if existing is not None and record_sha256(existing) != digest:
        raise StepRefused(
            f"policy version {record.version_id!r} is published with other content; notices already describe it, so a "
            "changed policy gets a new version_id", rule_id="policy_version_reused",
        )
    (entry,) = append_entries(
        ctx, [_policy_draft(record, digest, actor)],
        lambda exc: f"policy version {record.version_id!r} was published with other content (ledger step {exc.step})",
    )
    store.put_policy(record)
    diff = diff_policies(previous.policy, record.policy) if previous is not None else None
    return PublishedPolicy(
        version_id=record.version_id, jurisdiction=record.policy.jurisdiction, effective_on=record.policy.effective_on,
        sha256=digest, created=existing is None, ledger_seq=entry.seq, diff=diff,
    )


@router.post(
    "/policies", status_code=201, response_model=PublishedPolicy, responses=ERRORS,
    summary="Publish a privacy-policy version with its notice text (checked against 28 TAC § 22.10; ledgered)",
)
async def publish_policy(
    body: PolicyRecordBody, ctx: Context, actor: Actor, response: Response,  # type: ignore[valid-type]
    compare_to: Annotated[str | None, Query(description="A published version: the answer's `diff` says what changed (§ 22.12).")] = None,
) -> PublishedPolicy:
    record = as_domain(body, PrivacyPolicyRecord)
    try:
        check_content(record, NoticeKind.INITIAL, include_opt_out_notice=not simplified_notice_permitted(record.policy))
    except NoticeLintError as exc:
        raise _content_errors(exc) from None
    published: PublishedPolicy = await asyncio.to_thread(_publish, ctx, record, actor, compare_to)
    if not published.created:
        response.status_code = 200
    log.info("privacy.policy_published", version_id=published.version_id, actor=actor, created=published.created)
    return published


@router.get("/policies/{version_id}", response_model=PrivacyPolicyRecord, responses=ERRORS,
            summary="A published privacy-policy version and its notice text")
async def get_policy(version_id: str, ctx: Context, actor: Actor) -> PrivacyPolicyRecord:
    try:
        record: PrivacyPolicyRecord = await in_thread(ctx, lambda store: store.get_policy(version_id))
    except NotFoundError:
        raise PolicyNotFound(f"no policy version {version_id!r}: publish it with POST /v1/privacy/policies") from None
    return record


# =============================================================================================
# Relationships, in bulk
# =============================================================================================


class UploadInvalid(InvalidUpload):
    """A relationship upload that does not validate: 422 with ``errors``, one per field, no value."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "errors": self.errors}


def _invalid(problems: list[dict[str, Any]], more: int = 0) -> UploadInvalid:
    text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    if more:
        text += f" (and {more} more rows with errors)"
    return UploadInvalid(text, problems)


def _problem(field_: str, message: str, type_: str) -> dict[str, Any]:
    return {"field": field_, "message": message, "type": type_}


def _limit_bytes(settings: Any) -> int:
    return int(settings.roster_max_bytes)


register_body_limit("POST", f"{API_PREFIX}/privacy/relationships", _limit_bytes)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    too_large = PayloadTooLarge(
        f"the upload is larger than {limit} bytes (NOTICEFLOW_ROSTER_MAX_BYTES): split it into several uploads, or raise the limit"
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_relationship_upload(data: bytes, media_type: str, max_rows: int) -> list[RelationshipUploadRow]:
    """The rows of an upload, every one valid (the roster's reader, ``activities/roster.py``);
    else :class:`UploadInvalid` naming each field (``rows[n].<column>``, n = 1 for the first row)
    and never a value, or 413 past ``max_rows``."""
    try:
        rows = parse_rows(data, media_type, RelationshipUploadRow, required=REQUIRED_UPLOAD_COLUMNS,
                          noun="relationship upload", max_rows=max_rows)
    except RosterTooLargeError as exc:
        raise PayloadTooLarge(f"{exc}") from None
    except RosterUploadError as exc:
        raise UploadInvalid(str(exc), list(exc.errors)) from None
    if not rows:
        raise _invalid([_problem("body", "the upload is empty: give one row per consumer of each relationship", "upload_empty")])
    return rows


@dataclass
class Registration:
    """An upload turned into what is ledgered, stored and started — checked, nothing written yet."""

    consumers: dict[str, PrivacyConsumer] = field(default_factory=dict)
    records: list[RelationshipRecord] = field(default_factory=list)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    starts: list[RelationshipStart] = field(default_factory=list)
    drafts: list[EntryDraft] = field(default_factory=list)


def _moment(value: Any, jurisdiction: str) -> datetime | None:
    """A date is that day's 00:00 in the state's time; a date-time is kept as given."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=state_zone(jurisdiction))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plan_registration(
    rows: list[RelationshipUploadRow], *, npi_key: bytes, now: datetime, policies: set[str], actor: str
) -> Registration:
    """Group the rows by relationship and check what no single row can show: a joint
    relationship's rows agree, a consumer is listed once per relationship and with one contact,
    the policy version is published, nothing is dated in the future, no id that is ledgered looks
    like NPI. :class:`UploadInvalid` naming each row and column."""
    problems: list[dict[str, Any]] = []
    groups: dict[str, list[tuple[int, RelationshipUploadRow]]] = {}
    contact_of: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for number, row in enumerate(rows, start=1):
        groups.setdefault(row.relationship_id, []).append((number, row))
        ref = npi_digest(row.consumer_id, npi_key)
        contact = (row.name, row.email, row.postal_address(), row.jurisdiction, row.e_delivery_consent, row.transacts_electronically)
        first = contact_of.setdefault(ref, (number, contact))
        if first[1] != contact:
            problems.append(_problem(f"rows[{number}].consumer_id",
                                     f"the same consumer is in row {first[0]} with other contact data or flags: give one", "consumer_conflict"))
        for column, text in (("relationship_id", row.relationship_id), ("initial_notice_id", row.initial_notice_id)):
            issue = npi_problem(column, text) if text else None
            if issue:
                problems.append(_problem(f"rows[{number}].{column}", issue, "npi_in_free_text"))
        if row.policy_version not in policies:
            problems.append(_problem(f"rows[{number}].policy_version",
                                     f"no policy version {row.policy_version!r} is published: publish it first (POST /v1/privacy/policies)",
                                     "policy_version_unknown"))
        for column in ("established_at", "initial_notice_given_at", "initial_notice_acknowledged_at"):
            moment = _moment(getattr(row, column), row.jurisdiction)
            if moment is not None and moment > now + CLOCK_SKEW:
                problems.append(_problem(f"rows[{number}].{column}", f"{moment.isoformat()} is in the future: import what happened",
                                         "time_in_future"))
    plan = Registration()
    for rid, members in groups.items():
        (first_no, first), *others = members
        for number, row in others:
            for column in RELATIONSHIP_COLUMNS:
                if getattr(row, column) != getattr(first, column):
                    problems.append(_problem(f"rows[{number}].{column}",
                                             f"differs from row {first_no} of the same relationship {rid} (its rows list its joint consumers)",
                                             "joint_relationship_differs"))
        refs = [npi_digest(row.consumer_id, npi_key) for _, row in members]
        if len(set(refs)) != len(refs):
            problems.append(_problem(f"rows[{members[-1][0]}].consumer_id", f"the consumer is listed twice in relationship {rid}",
                                     "duplicate_consumer"))
        if len(refs) > 20:
            problems.append(_problem(f"rows[{members[-1][0]}].relationship_id", f"relationship {rid} lists more than 20 joint consumers",
                                     "too_many_consumers"))
        try:
            given = _given(first, agreed=all(row.e_delivery_consent for _, row in members))
        except ValidationError as exc:
            for err in exc.errors(include_input=False):
                column = next((c for c in ("acknowledged", "channel") if c in err["type"]), "given_at")
                message = err["msg"].replace("acknowledged_at", "initial_notice_acknowledged_at").replace(
                    "delivered_at", "initial_notice_given_at")
                problems.append(_problem(f"rows[{first_no}].initial_notice_{column}", message, err["type"]))
            continue
        reason = delivery_gives_actual_notice(given_delivery(rid, given).as_notice_delivery()) if given is not None else None
        if reason is not None:
            problems.append(_problem(f"rows[{first_no}].initial_notice_channel",
                                     f"{reason.message.split(': ', 1)[-1]} ({reason.citation}): it gave no notice to take over",
                                     "notice_gives_no_actual_notice"))
        if problems:
            continue
        plan.records.append(_relationship(rid, first, refs))
        plan.starts.append(RelationshipStart(
            relationship_id=rid, jurisdiction=first.jurisdiction, consumer_refs=refs, is_customer=first.relationship == "customer",
            established_at=plan.records[-1].established_at, policy_version=first.policy_version, initial_notice_given=given,
            started_by=actor,
        ))
        plan.drafts.append(_registration_draft(plan.records[-1], given, actor))
        if given is not None:
            plan.deliveries.append(given_delivery(rid, given))
        for (_, row), ref in zip(members, refs, strict=True):
            plan.consumers[ref] = PrivacyConsumer(
                consumer_ref=ref, jurisdiction=row.jurisdiction, name=row.name, email=row.email, postal_address=row.postal_address(),
                e_delivery_consent=row.e_delivery_consent, transacts_electronically=row.transacts_electronically,
            )
    if problems:
        numbers = sorted({_row_number(p) for p in problems})
        shown = sorted((p for p in problems if _row_number(p) in numbers[:MAX_REPORTED_ROWS]), key=_row_number)
        raise _invalid(shown, max(len(numbers) - MAX_REPORTED_ROWS, 0))
    return plan


def _row_number(problem: dict[str, Any]) -> int:
    return int(problem["field"].removeprefix("rows[").split("]", 1)[0])


def _given(row: RelationshipUploadRow, *, agreed: bool) -> GivenNotice | None:
    at = _moment(row.initial_notice_given_at, row.jurisdiction)
    if at is None:
        return None
    channel = DeliveryChannel(row.initial_notice_channel or "mail")
    return GivenNotice(
        notice_id=row.initial_notice_id or f"initial-{row.policy_version}", channel=channel, delivered_at=at,
        acknowledged_at=row.initial_notice_acknowledged_at, includes_opt_out_notice=row.initial_notice_with_opt_out,
        consumer_agreed_electronic=channel in (DeliveryChannel.EMAIL, DeliveryChannel.ELECTRONIC) and agreed,
        policy_version=row.policy_version,
    )


def given_delivery(relationship_id: str, given: GivenNotice) -> DeliveryRecord:
    """The store's record of a notice given before the lifecycle: the one its lifecycle records
    when it takes the notice over (``workflows/privacy_relationship_records.py``), so that the
    store — what revised-notice runs and the store-based gate read — holds it either way."""
    return DeliveryRecord(
        delivery_key=f"{relationship_id}/{given.notice_id}", relationship_id=relationship_id, notice_id=given.notice_id,
        kind=NoticeKind.INITIAL, policy_version=given.policy_version, includes_opt_out_notice=given.includes_opt_out_notice,
        channel=given.channel, status=DeliveryStatus.ACKNOWLEDGED if given.acknowledged_at else DeliveryStatus.SENT,
        delivered_at=given.delivered_at, acknowledged_at=given.acknowledged_at,
        consumer_agreed_electronic=given.consumer_agreed_electronic,
    )


def _relationship(rid: str, row: RelationshipUploadRow, refs: list[str]) -> RelationshipRecord:
    established = _moment(row.established_at, row.jurisdiction) or _moment(row.initial_notice_given_at, row.jurisdiction)
    return RelationshipRecord(
        relationship_id=rid, jurisdiction=row.jurisdiction, consumer_refs=refs, is_customer=row.relationship == "customer",
        established_at=established, policy_version=row.policy_version,
        stage="customer" if row.relationship == "customer" else "consumer",
    )


def _registration_draft(record: RelationshipRecord, given: GivenNotice | None, actor: str) -> EntryDraft:
    """What the ledger says of a registration: the relationship's facts and notice history, its
    consumers by digest — never a name or an address."""
    return EntryDraft(
        stream=f"privacy:{record.relationship_id}", type="privacy_relationship.registered",
        step=f"privacy-registry/{record.relationship_id}/registered", jurisdiction=record.jurisdiction,
        citation=f"{CITE_RELATIONSHIP}; {CITE_INITIAL}" if given is not None else CITE_RELATIONSHIP, actor=actor,
        data={
            "relationship_id": record.relationship_id, "consumers": list(record.consumer_refs), "joint": record.joint,
            "relationship": record.stage.value, "established_at": _iso(record.established_at), "policy_version": record.policy_version,
            "initial_notice": None if given is None else {
                "notice_id": given.notice_id, "channel": given.channel.value, "given_at": given.delivered_at.isoformat(),
                "acknowledged_at": _iso(given.acknowledged_at), "with_opt_out_notice": given.includes_opt_out_notice,
                "policy_version": given.policy_version,
            },
        },
    )


def _store(ctx: ApiContext, plan: Registration) -> tuple[int, int]:
    """Ledger the registrations, then seal and store the consumers and register the
    relationships. (new ledger entries, new relationships)."""
    before = ctx.signing_ledger.size()
    entries = append_entries(
        ctx, plan.drafts,
        lambda exc: f"a relationship in the upload was registered before with other facts (ledger step {exc.step}); "
                    "its registration stands: correct the row to match it, or give the relationship a new id",
    )
    written = sum(1 for e in entries if e.seq > before)  # the others were recorded by an earlier upload
    store = privacy_store(ctx)
    store.upsert_consumers(plan.consumers.values())
    registered = store.register_relationships(plan.records)
    store.record_deliveries(plan.deliveries)
    return written, registered


async def _start_lifecycles(ctx: ApiContext, starts: list[RelationshipStart]) -> tuple[int, int]:
    """Start each relationship's lifecycle; (started now, started before)."""
    client = await ctx.gateway.client()
    gate = asyncio.Semaphore(START_CONCURRENCY)
    started = before = 0

    async def start(inp: RelationshipStart) -> None:
        nonlocal started, before
        async with gate:
            try:
                await client.start_workflow(
                    ConsumerRelationshipWorkflow.run, inp, id=relationship_workflow_id(inp.relationship_id),
                    task_queue=ctx.settings.task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"Privacy relationship {inp.relationship_id} ({inp.jurisdiction})",
                    priority=priorities.NOTICES,  # behind a responder's steps (workflows/priorities.py)
                )
                started += 1
            except WorkflowAlreadyStartedError:
                before += 1

    try:
        await asyncio.gather(*(start(s) for s in starts))
    except RPCError as exc:
        raise translate(exc, "the relationships' lifecycles", TemporalUnavailable(
            f"Temporal refused a start ({exc.message}); the relationships are registered: send the upload again to start "
            "the lifecycles not yet started"))
    return started, before


@router.post(
    "/relationships", status_code=201, response_model=RegistrationSummary,
    responses={**ERRORS, 413: {"model": ErrorBody, "description": "More bytes or rows than the roster limits."},
               415: {"model": ErrorBody, "description": "Neither application/json nor text/csv."}},
    openapi_extra={"requestBody": {
        "required": True,
        "description": "One row per consumer of a relationship (rows sharing relationship_id: a joint relationship), with "
        "the columns of RelationshipUploadRow: relationship_id, consumer_id, name, email and/or postal address, consent "
        "flags, jurisdiction, relationship (customer|consumer), established_at, policy_version, and the notice history "
        "(initial_notice_given_at, _channel, _acknowledged_at, _id, _with_opt_out). A JSON list of objects, or CSV with a header row.",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "text/csv": {"schema": {"type": "string"}}},
    }},
    summary="Register consumers and relationships in bulk, with their notice history (contact data sealed; counts returned)",
)
async def register_relationships(
    request: Request, ctx: Context, actor: Actor,
    lifecycles: Annotated[Literal["start", "none"], Query(description="`start`: start each relationship's lifecycle "
                                                         "workflow; `none`: register in the store only.")] = "start",
) -> RegistrationSummary:
    try:
        media_type = media_type_of(request.headers.get("content-type", "application/json"))
    except RosterMediaTypeError:
        raise UnsupportedMediaType(
            "relationships are uploaded as application/json (a list of objects) or text/csv (a header row), in UTF-8"
        ) from None
    data = await _read_limited(request, ctx.settings.roster_max_bytes)
    rows = await asyncio.to_thread(parse_relationship_upload, data, media_type, ctx.settings.roster_max_rows)
    policies = set(await in_thread(ctx, lambda store: _published(store, {r.policy_version for r in rows})))
    plan = await asyncio.to_thread(
        plan_registration, rows, npi_key=ctx.npi_key, now=datetime.now(UTC), policies=policies, actor=actor
    )
    if lifecycles == "start" and len(plan.starts) > MAX_LIFECYCLES_PER_UPLOAD:
        raise PayloadTooLarge(
            f"the upload registers {len(plan.starts)} relationships; one upload starts at most {MAX_LIFECYCLES_PER_UPLOAD} "
            "lifecycles: split it, or register with lifecycles=none"
        )
    entries, registered = await asyncio.to_thread(_store, ctx, plan)
    started = before = 0
    if lifecycles == "start":
        started, before = await _start_lifecycles(ctx, plan.starts)
    summary = RegistrationSummary(
        relationships=len(plan.records), consumers=len(plan.consumers), joint=sum(1 for r in plan.records if r.joint),
        registered=registered, already_registered=len(plan.records) - registered,
        with_initial_notice=sum(1 for s in plan.starts if s.initial_notice_given is not None),
        by_jurisdiction=dict(sorted(Counter(r.jurisdiction for r in plan.records).items())),
        lifecycles=lifecycles, lifecycles_started=started, lifecycles_running=before, ledger_entries=entries,
    )
    log.info("privacy.relationships_registered", actor=actor, relationships=summary.relationships, registered=registered,
             lifecycles_started=started, ledger_entries=entries)
    return summary


def _published(store: PrivacyStore, versions: set[str]) -> list[str]:
    found = []
    for version in sorted(versions):
        try:
            store.get_policy(version)
        except NotFoundError:
            continue
        found.append(version)
    return found


__all__ = ["parse_relationship_upload", "plan_registration", "router"]
