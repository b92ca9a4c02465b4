"""Consumer notice: whether it is owed and by which method — Tenn. Code Ann. § 56-2-1006(c), (c)(1)–(3)
— and how a documented law-enforcement delay moves its deadline. Pure functions, called by
``rules.cyber.consumer_notice``; for a state other than Tennessee the caller marks them as
Tennessee's rule applied (``rules.cyber.applied_to``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from models.incident import AffectedState, IncidentIntake
from models.obligation import NoticeMethod, SubstituteNotice, SubstituteTrigger
from rules.jurisdictions import (
    SUBSTITUTE_NOTICE_CLASS_THRESHOLD,
    SUBSTITUTE_NOTICE_COST_THRESHOLD_USD,
)

CITE_METHOD = "Tenn. Code Ann. § 56-2-1006(c)(1)–(3)"
CITE_SUBSTITUTE = "Tenn. Code Ann. § 56-2-1006(c)(3)"
CITE_LAW_ENFORCEMENT = "Tenn. Code Ann. § 56-2-1006(c)"

# ============================================================================================
# Consumer notice
# ============================================================================================


def consumer_notice_required(intake: IncidentIntake, affected: AffectedState) -> bool:
    """Tenn. Code Ann. § 56-2-1006(c): "Following a determination that a cybersecurity event has
    occurred and that the cybersecurity event has a reasonable likelihood of materially harming a
    consumer, a licensee shall notify consumers residing in this state whose nonpublic information
    has been acquired, or reasonably believed to have been acquired"."""
    return affected.consumers > 0 and affected.material_harm_likely


def substitute_notice_triggers(affected: AffectedState) -> list[SubstituteTrigger]:
    """Tenn. Code Ann. § 56-2-1006(c)(3): substitute notice "if the licensee demonstrates that the
    cost of providing notice would exceed two hundred fifty thousand dollars ($250,000), the
    affected class of subject persons to be notified exceeds five hundred thousand (500,000)
    persons, or the licensee does not have sufficient contact information"."""
    triggers: list[SubstituteTrigger] = []
    if affected.notice_cost_usd is not None and affected.notice_cost_usd > SUBSTITUTE_NOTICE_COST_THRESHOLD_USD:
        triggers.append(SubstituteTrigger.COST_EXCEEDS_THRESHOLD)
    if affected.consumers > SUBSTITUTE_NOTICE_CLASS_THRESHOLD:
        triggers.append(SubstituteTrigger.CLASS_EXCEEDS_THRESHOLD)
    if affected.without_contact > 0:
        triggers.append(SubstituteTrigger.INSUFFICIENT_CONTACT_INFORMATION)
    return triggers


def individual_notice_method(affected: AffectedState) -> NoticeMethod:
    """Tenn. Code Ann. § 56-2-1006(c)(1)–(2): written notice; electronic notice "if the notice
    provided is consistent with … 15 U.S.C. § 7001, or if the licensee's primary method of
    communication with the consumer has been by electronic means"."""
    return NoticeMethod.ELECTRONIC if affected.electronic_primary_channel else NoticeMethod.WRITTEN


def consumer_notice_method(affected: AffectedState) -> tuple[NoticeMethod, SubstituteNotice | None, str]:
    """Choose the method of § 56-2-1006(c)(1)–(3); substitute notice consists of "(A) Email notice,
    when the licensee has an email address for the consumer; (B) Conspicuous posting of the notice on
    the licensee's website, if the licensee maintains a website page; and (C) Notification to major
    statewide media".

    Cost or class size allow substitute notice for the whole class. Missing contact information
    allows it only for the consumers it concerns; the others get individual notice.
    """
    individual = individual_notice_method(affected)
    triggers = substitute_notice_triggers(affected)
    cite = CITE_SUBSTITUTE
    if not triggers:
        why = (
            "E-SIGN consent or an electronic primary channel allows electronic notice"
            if individual is NoticeMethod.ELECTRONIC
            else "written notice to each consumer"
        )
        return individual, None, f"No substitute-notice condition is met: {why}."
    class_wide = [t for t in triggers if t is not SubstituteTrigger.INSUFFICIENT_CONTACT_INFORMATION]
    if class_wide or affected.without_contact >= affected.consumers:
        notice = SubstituteNotice(
            triggers=triggers,
            applies_to="all_affected",
            consumers=affected.consumers,
            consumers_with_email=affected.with_email,
            citation=cite,
        )
        parts = []
        if SubstituteTrigger.COST_EXCEEDS_THRESHOLD in triggers:
            parts.append(f"the cost of notice exceeds ${SUBSTITUTE_NOTICE_COST_THRESHOLD_USD:,.0f}")
        if SubstituteTrigger.CLASS_EXCEEDS_THRESHOLD in triggers:
            parts.append(f"the class exceeds {SUBSTITUTE_NOTICE_CLASS_THRESHOLD:,} persons")
        if not class_wide:
            parts.append("the licensee lacks sufficient contact information for every affected consumer")
        return (
            NoticeMethod.SUBSTITUTE,
            notice,
            "Substitute notice for the whole class because " + " and ".join(parts) + ".",
        )
    notice = SubstituteNotice(
        triggers=triggers,
        applies_to="consumers_without_contact",
        consumers=affected.without_contact,
        consumers_with_email=0,
        individual_method=individual,
        citation=cite,
    )
    return (
        NoticeMethod.SUBSTITUTE,
        notice,
        f"Substitute notice for the {affected.without_contact:,} consumers without sufficient contact "
        f"information; {individual.value} notice to the other {affected.consumers - affected.without_contact:,}.",
    )


def apply_law_enforcement_delay(due: dt.datetime, intake: IncidentIntake, tz: ZoneInfo) -> tuple[dt.datetime, bool]:
    """Tenn. Code Ann. § 56-2-1006(c): notice "no later than forty-five (45) days after the
    determination … unless a longer period of time is required due to the legitimate needs of law
    enforcement". Only a recorded delay moves the deadline, and only to the delay's end."""
    until = intake.law_enforcement_delay_until
    if until is not None and until > due:
        return until.astimezone(tz), True
    return due, False
