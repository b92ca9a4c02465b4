"""What a licensee must do after a cybersecurity event: one obligation per duty, state and recipient.

An obligation says what (``kind``), under whose law (``jurisdiction``), to whom (``recipient``),
by when (``due``, ISO 8601 with offset, in the time zone of the state whose clock runs), from
when (``clock_starts_at``), under which section (``citation``) and why (``basis``). Where the
rule behind it is not verified, ``needs_counsel_review`` is true and ``counsel_review_reasons``
says what a person has to confirm. The workflows run one child workflow per obligation, keyed by
``obligation_id``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator
from pydantic_core import PydanticCustomError

from models.common import Clock, NoticeflowModel, RuleStatus, StateCode
from models.incident import DataElement, IncidentIntake, ReportItemCode


class ObligationKind(StrEnum):
    COMMISSIONER_NOTICE = "commissioner_notice"
    CONSUMER_NOTICE = "consumer_notice"
    PRODUCER_NOTICE = "producer_notice"
    CEDING_INSURER_NOTICE = "ceding_insurer_notice"
    #: Notice to a state's attorney general (or the office its general breach law names) under
    #: that law, through the regulator outbox, acknowledgement required.
    ATTORNEY_GENERAL_NOTICE = "attorney_general_notice"


class RecipientRole(StrEnum):
    COMMISSIONER = "commissioner"
    CONSUMERS = "consumers"
    PRODUCERS_OF_RECORD = "producers_of_record"
    CEDING_INSURERS = "ceding_insurers"
    ATTORNEY_GENERAL = "attorney_general"


class ClockStart(StrEnum):
    """The event that started an obligation's clock."""

    DETERMINATION = "determination"
    TPSP_NOTICE = "tpsp_notice"
    ACTUAL_KNOWLEDGE = "actual_knowledge"
    #: No determination recorded yet: the clock is assumed to start at discovery, the earliest
    #: moment it could start, and the obligation asks for counsel review.
    ASSUMED_AT_DISCOVERY = "assumed_at_discovery"
    #: The law's own clock runs from the discovery of the breach (e.g. ORS 646A.604, 9 V.S.A.
    #: § 2435(b)(1): "≤ 45 days after discovery"), whether or not a determination is recorded.
    DISCOVERY = "discovery"


class LawRegime(StrEnum):
    """Which body of law an obligation arises under."""

    #: The state's insurance data security act (NAIC #668 and its adopters, 23 NYCRR 500).
    INSURANCE_DATA_SECURITY = "insurance_data_security"
    #: The state's general breach-notification law (e.g. Tex. Bus. & Com. Code § 521.053).
    GENERAL_BREACH_LAW = "general_breach_law"


class ThresholdComparator(StrEnum):
    """How a resident count is compared with a law's threshold."""

    AT_LEAST = "at_least"  # "250 or more", ≥
    MORE_THAN = "more_than"  # "more than 250", >
    #: The threshold is not known (not read in the table): applied from one resident, counsel review.
    UNKNOWN = "unknown"


class ResidentsThreshold(NoticeflowModel):
    """The resident count above which a law requires a notice, as the table gives it."""

    comparator: ThresholdComparator
    residents: int | None = Field(None, ge=1, description="The number in the law; None when not known.")
    affected_residents: int = Field(ge=0, description="The event's affected residents of the state.")
    text: str = Field(description="The threshold as the table gives it, e.g. '≥ 250 Texas residents'.")


class NoticeMethod(StrEnum):
    """How consumers may be notified (Tenn. Code Ann. § 56-2-1006(c)(1)–(3))."""

    WRITTEN = "written"
    ELECTRONIC = "electronic"
    SUBSTITUTE = "substitute"


class SubstituteTrigger(StrEnum):
    """Why substitute notice is allowed (§ 56-2-1006(c)(3))."""

    COST_EXCEEDS_THRESHOLD = "cost_exceeds_threshold"
    CLASS_EXCEEDS_THRESHOLD = "class_exceeds_threshold"
    INSUFFICIENT_CONTACT_INFORMATION = "insufficient_contact_information"


class SubstituteNotice(NoticeflowModel):
    """The parts of a substitute notice, all three together (§ 56-2-1006(c)(3)(A)–(C))."""

    triggers: list[SubstituteTrigger] = Field(min_length=1)
    applies_to: str = Field(
        description="'all_affected' when cost or class size allows it for the whole class; "
        "'consumers_without_contact' when only the contact-information trigger applies."
    )
    consumers: int = Field(ge=0, description="Consumers reached by the substitute notice.")
    email_where_known: bool = Field(True, description="(A) e-mail notice where an address is known.")
    consumers_with_email: int = Field(ge=0)
    website_posting: bool = Field(True, description="(B) conspicuous posting on the licensee's website, if it has one.")
    statewide_media: bool = Field(True, description="(C) notification to major statewide media.")
    individual_method: NoticeMethod | None = Field(
        None, description="Method for the consumers with contact information when only some lack it."
    )
    citation: str


class ReportItemStatus(StrEnum):
    PROVIDED = "provided"
    MISSING = "missing"
    NOT_APPLICABLE = "not_applicable"


class ReportItem(NoticeflowModel):
    """One item of the commissioner report, "as much of the following information as is available"."""

    code: ReportItemCode
    description: str
    citation: str
    status: ReportItemStatus
    note: str | None = None


class Reason(NoticeflowModel):
    """One sentence of the engine's reasoning, with the section it rests on."""

    code: str
    message: str
    citation: str | None = None
    #: The state whose law the sentence reads (None: the event as a whole).
    jurisdiction: StateCode | None = None
    #: The citation names no verified section of that state's own law (the model, marked as such).
    needs_counsel_review: bool = False


class Obligation(NoticeflowModel):
    obligation_id: str = Field(
        description="Stable id: <incident>:<kind>:<jurisdiction>:<recipient_key>, followed by ':general_law' for an "
        "obligation under a general breach-notification law."
    )
    kind: ObligationKind
    jurisdiction: StateCode = Field(description="The state whose law imposes the obligation and whose clock runs.")
    recipient: RecipientRole
    recipient_key: str = Field(description="Obligations with the same key can be met by one delivery.")
    recipient_name: str
    due: AwareDatetime
    clock: Clock
    clock_starts_at: AwareDatetime
    clock_start: ClockStart
    citation: str
    basis: str = Field(description="One sentence: why this obligation arises.")
    rule_id: str = Field(description="The rule this obligation rests on (docs/traceability.md).")
    rule_ids: list[str] = Field(default_factory=list, description="Every rule applied to reach it.")
    status: RuleStatus
    needs_counsel_review: bool = False
    counsel_review_reasons: list[str] = Field(default_factory=list)
    reported_clock: Clock | None = Field(
        None, description="The clock as reported (unverified); `due` applies the strictest known clock instead."
    )
    reported_due: AwareDatetime | None = None
    law_enforcement_delay_until: AwareDatetime | None = Field(
        None, description="Set when a documented law-enforcement delay moved `due`."
    )
    excused: bool = False
    excused_reason: str | None = None
    method: NoticeMethod | None = None
    method_basis: str | None = None
    substitute_notice: SubstituteNotice | None = None
    report_items: list[ReportItem] | None = None
    continuing_updates: bool = Field(
        False, description="Material updates must follow for as long as the event is open (§ 56-2-1006(b)(2))."
    )
    copy_to: str | None = None
    notes: list[str] = Field(default_factory=list)
    regime: LawRegime = Field(
        LawRegime.INSURANCE_DATA_SECURITY, description="The body of law the obligation arises under."
    )
    laws_satisfied: list[str] = Field(
        default_factory=list,
        description="The laws (citations) one delivery of this notice satisfies: its own and those of every "
        "obligation of the same kind and recipient_key that the delivery also meets (e.g. an insurance act's and a "
        "general breach law's consumer notice to the same residents).",
    )
    filing_method: str | None = Field(
        None, description="How the office receives the notice, as the law names it (e.g. the AG's electronic form)."
    )
    threshold: ResidentsThreshold | None = Field(
        None, description="The resident threshold the law sets for this notice, and the event's count."
    )

    @model_validator(mode="after")
    def _review_reasons(self) -> Obligation:
        if self.needs_counsel_review != bool(self.counsel_review_reasons):
            raise PydanticCustomError(
                "counsel_review_reason",
                "needs_counsel_review must be true exactly when counsel_review_reasons is not empty",
            )
        if self.excused and not self.excused_reason:
            raise PydanticCustomError("excused_reason", "an excused obligation needs excused_reason")
        return self


class NpiCategory(StrEnum):
    """The three kinds of nonpublic information of RSMo § 375.1402(12)."""

    BUSINESS = "business"  # (12)(a)
    CONSUMER_IDENTIFYING = "consumer_identifying"  # (12)(b)
    HEALTH = "health"  # (12)(c)


class EventClassification(NoticeflowModel):
    is_cybersecurity_event: bool
    nonpublic_information: list[NpiCategory]
    consumer_data_elements: list[DataElement]
    reasons: list[Reason]


class ObligationsQuery(NoticeflowModel):
    """What a determination's obligations are computed from (``activities/obligations.py``)."""

    intake: IncidentIntake
    determined_at: AwareDatetime | None = None


class ObligationsResult(NoticeflowModel):
    """The answer to "what must we do, in which states, by when, and under which section?"."""

    incident_id: str
    is_cybersecurity_event: bool
    determined_at: AwareDatetime | None = Field(description="The determination the clocks were computed from.")
    determination_assumed: bool = False
    nonpublic_information: list[NpiCategory] = Field(default_factory=list)
    reasons: list[Reason]
    obligations: list[Obligation]
