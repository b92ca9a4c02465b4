"""Request and response bodies of the privacy API (``api/privacy*.py``).

The steps speak the lifecycle models of ``models/privacy_lifecycle.py`` and
``models/revised_notice.py``; as in the incident API, the person acting (``recorded_by``,
``received_by``, ``started_by``) may be left out of a request — it is the caller — and when given
must be the caller. The bulk registration takes one row per consumer of a relationship
(``RelationshipUploadRow``, JSON objects or CSV columns): the only body of the privacy API that
carries contact data, sealed before it is first written and never echoed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from api.bounds import as_domain, bounded
from api.schemas import actor_optional
from models.common import StateCode
from models.content import Email, OptionalText, PostalAddress, blank_to_none
from models.notice import require_whole_address
from models.privacy import PolicyDiff
from models.privacy_lifecycle import (
    PLAIN_ID_PATTERN,
    RELATIONSHIP_ID_PATTERN,
    VERSION_ID_PATTERN,
    GateQuestion,
    HealthAuthorizationRequest,
    HealthRevocationRequest,
    OptOutRequest,
    PrivacyPolicyRecord,
    ReturnedMail,
    RevocationRequest,
)
from models.revised_notice import MAX_MARKS_PER_UPDATE, RevisedNoticeState


def _named(model: type[BaseModel], field_: str, name: str) -> Any:
    """``actor_optional(model, field_)``, bounded (``api/bounds.py``), under the name the OpenAPI description shows."""
    return bounded(actor_optional(model, field_), name)


#: Request bodies of the relationship's steps: the actor defaults to the caller.
ReturnedMailRequest = _named(ReturnedMail, "recorded_by", "ReturnedMailRequest")
OptOutRevocationRequest = _named(RevocationRequest, "received_by", "OptOutRevocationRequest")
HealthAuthorizationBody = _named(HealthAuthorizationRequest, "recorded_by", "HealthAuthorizationBody")
HealthRevocationBody = _named(HealthRevocationRequest, "recorded_by", "HealthRevocationBody")
#: The gate's question and an opt-out, as the API takes them: bounded; the actor checked against the caller.
GateQuestionBody = bounded(GateQuestion, "GateQuestionBody")
OptOutBody = bounded(OptOutRequest, "OptOutBody")
#: A policy version with its notice text: the notice's paragraphs may run longer than other text.
PolicyRecordBody = bounded(PrivacyPolicyRecord, "PrivacyPolicyRecordInput", text=8000)

#: Which field of each step's request names the person acting.
PRIVACY_ACTOR_FIELDS: dict[type[BaseModel], str] = {
    ReturnedMail: "recorded_by",
    RevocationRequest: "received_by",
    HealthAuthorizationRequest: "recorded_by",
    HealthRevocationRequest: "recorded_by",
}


def _blank_false(value: object) -> object:
    return False if blank_to_none(value) is None else value


def _blank_true(value: object) -> object:
    return True if blank_to_none(value) is None else value


Flag = Annotated[bool, BeforeValidator(_blank_false)]
OptionalDateTime = Annotated[AwareDatetime | None, BeforeValidator(blank_to_none)]
#: An ISO 8601 date (``2026-10-31``: that day, 00:00 in the relationship's state) or date-time with offset.
DateOrDateTime = Annotated[AwareDatetime | dt.date | None, BeforeValidator(blank_to_none)]


class RelationshipUploadRow(BaseModel):
    """One consumer of one relationship, as a JSON object or a CSV row with these column names.

    Rows with the same ``relationship_id`` are the consumers of one joint relationship (28 TAC
    § 22.13(h)); their relationship columns (``jurisdiction`` … ``initial_notice_*``) must agree.
    ``consumer_id`` is the licensee's own id of the consumer: it is replaced by its digest on
    upload and never stored. Name, e-mail and address are sealed before they are first written."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    relationship_id: str = Field(pattern=RELATIONSHIP_ID_PATTERN, description="Opaque id; never NPI.")
    consumer_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: Annotated[Email | None, BeforeValidator(blank_to_none)] = Field(None, max_length=254)
    # As ``PostalAddress`` takes them: a row the address would refuse is refused here, naming the column.
    address_line1: OptionalText = Field(None, max_length=200)
    address_line2: OptionalText = Field(None, max_length=200)
    city: OptionalText = Field(None, max_length=100)
    region: OptionalText = Field(None, max_length=100)
    postal_code: OptionalText = Field(None, max_length=20)
    country: OptionalText = Field(None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2 (default US).")
    e_delivery_consent: Flag = Field(False, description="Agreed to receive notices electronically (28 TAC § 22.13(a)).")
    transacts_electronically: Flag = Field(False, description="Obtains products electronically (§ 22.13(b)(3), (c)(2)).")
    jurisdiction: Annotated[StateCode, BeforeValidator(lambda v: "TX" if blank_to_none(v) is None else v)] = "TX"
    relationship: Annotated[Literal["customer", "consumer"], BeforeValidator(lambda v: blank_to_none(v) or "customer")] = Field(
        "customer", description="`customer`: a continuing relationship (§ 22.5(a)); `consumer`: none (§ 22.5(b))."
    )
    established_at: DateOrDateTime = Field(None, description="Default: when the initial notice was given, else now.")
    policy_version: str = Field(pattern=VERSION_ID_PATTERN, description="A published policy version, in force for the relationship.")
    initial_notice_given_at: DateOrDateTime = Field(
        None, description="Notice history: when the initial notice was mailed (or handed over, e-mailed). Empty: not given yet."
    )
    initial_notice_channel: Annotated[
        Literal["mail", "hand_delivery", "email", "electronic"] | None, BeforeValidator(blank_to_none)
    ] = None
    initial_notice_acknowledged_at: OptionalDateTime = None
    initial_notice_id: Annotated[Annotated[str, Field(pattern=PLAIN_ID_PATTERN)] | None, BeforeValidator(blank_to_none)] = Field(
        None, description="The notice's id in your records (default: initial-<policy_version>)."
    )
    initial_notice_with_opt_out: Annotated[bool, BeforeValidator(_blank_true)] = Field(
        True, description="The opt-out notice went with it (§ 22.11(f))."
    )

    @model_validator(mode="after")
    def _coherent(self) -> RelationshipUploadRow:
        require_whole_address(self.address_line1, self.city, self.postal_code)
        if self.initial_notice_given_at is None:
            named = [f for f in ("initial_notice_channel", "initial_notice_acknowledged_at", "initial_notice_id")
                     if getattr(self, f) is not None]
            if named:
                raise PydanticCustomError(
                    "initial_notice_given_at_missing",
                    "initial_notice_given_at is required with {named}: when was the initial notice given?",
                    {"named": ", ".join(named)},
                )
        return self

    def postal_address(self) -> PostalAddress | None:
        if not self.address_line1:
            return None
        return PostalAddress(
            line1=self.address_line1, line2=self.address_line2, city=self.city or "", region=self.region or self.jurisdiction,
            postal_code=self.postal_code or "", country=self.country or "US",
        )


#: Columns of a relationship upload, and the ones a CSV header must have.
REQUIRED_UPLOAD_COLUMNS: tuple[str, ...] = ("relationship_id", "consumer_id", "name", "policy_version")
#: The relationship's own columns: the same in every row of a joint relationship.
RELATIONSHIP_COLUMNS: tuple[str, ...] = (
    "jurisdiction", "relationship", "established_at", "policy_version", "initial_notice_given_at", "initial_notice_channel",
    "initial_notice_acknowledged_at", "initial_notice_id", "initial_notice_with_opt_out",
)


class RegistrationSummary(BaseModel):
    """``POST /v1/privacy/relationships``: counts, never a consumer."""

    relationships: int = Field(description="Relationships in the upload.")
    consumers: int = Field(description="Distinct consumers in the upload (contact data sealed).")
    joint: int = Field(description="Relationships of several consumers (one notice each, § 22.13(h)).")
    registered: int = Field(description="Relationships new to the privacy store.")
    already_registered: int = Field(description="Relationships the store held already (left as they were).")
    with_initial_notice: int = Field(description="Relationships imported with their initial notice given (taken over, not re-sent).")
    by_jurisdiction: dict[str, int]
    lifecycles: Literal["start", "none"]
    lifecycles_started: int = Field(description="Lifecycle workflows started by this upload.")
    lifecycles_running: int = Field(description="Relationships whose lifecycle had been started before.")
    ledger_entries: int = Field(description="`privacy_relationship.registered` entries written now (a repeat writes none).")


class PublishedPolicy(BaseModel):
    """``POST /v1/privacy/policies``: the version as registered, and what changed against ``compare_to``."""

    version_id: str
    jurisdiction: str
    effective_on: dt.date
    sha256: str = Field(description="Digest of the record's content (RFC 8785 JSON): notices describing it name it.")
    created: bool = Field(description="False: the same content was published before (nothing new recorded).")
    ledger_seq: int = Field(description="The `privacy_policy.published` entry.")
    diff: PolicyDiff | None = Field(None, description="Against `compare_to`: each change, with its section; whether a revised notice is required.")


class StartRevisedNotice(BaseModel):
    """``POST /v1/privacy/revised-notices``: carry one policy change through 28 TAC § 22.12."""

    model_config = ConfigDict(extra="forbid")

    old_version: str = Field(pattern=VERSION_ID_PATTERN)
    new_version: str = Field(pattern=VERSION_ID_PATTERN)
    batch_size: int = Field(2000, ge=1, le=5000, description="Relationships per delivery / opening batch.")
    batches_per_child: int = Field(10, ge=1, le=200)
    started_by: str | None = Field(None, min_length=1, max_length=200, description="The caller (filled in when omitted).")


class RevisedNoticeStarted(BaseModel):
    workflow_id: str
    old_version: str
    new_version: str
    progress: RevisedNoticeState | None = Field(None, description="Null when the worker has not answered yet: follow GET.")


class RevisedNoticeMarks(BaseModel):
    """Revised notices returned as undeliverable, or acknowledged, by relationship."""

    model_config = ConfigDict(extra="forbid")

    relationship_ids: list[Annotated[str, Field(pattern=RELATIONSHIP_ID_PATTERN)]] = Field(
        min_length=1, max_length=MAX_MARKS_PER_UPDATE
    )
    status: Literal["returned", "acknowledged"]
    at: AwareDatetime | None = Field(None, description="Default: when the marks are recorded.")
    batch_ref: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="Your id of this set of marks (e.g. the returned-mail file): a retry under it is a no-op.",
    )
    recorded_by: str | None = Field(None, min_length=1, max_length=200, description="The caller (filled in when omitted).")


def step_body(request: BaseModel, domain: type[BaseModel], actor: str, **extra: Any) -> Any:
    """The domain model of a step's request, its actor set to the caller (checked before)."""
    return as_domain(request, domain, **{PRIVACY_ACTOR_FIELDS[domain]: actor, **extra})
