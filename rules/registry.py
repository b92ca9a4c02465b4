"""The rule registry: every encoded rule, its section, how far it is checked, and the code behind it.

``docs/traceability.md`` is generated from ``RULES`` (``noticeflow rules traceability --write``)
with the tests that prove each rule; a test regenerates it and fails when the committed file is
stale, when a rule has no test, or when a test names a rule that does not exist.

Tests declare what they prove with :func:`verifies`::

    @verifies("tn.commissioner_notice.deadline")
    def test_commissioner_notice_due_three_business_days_after_determination_56_2_1006_a(): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from models.common import RuleStatus
from rules import (
    calendar,
    classification,
    cyber,
    disclosure,
    jurisdictions,
    lifecycle,
    privacy_notices,
    relationship,
)
from rules.jurisdictions import CYBER_JURISDICTIONS, MODEL_FALLBACK, Provision

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Rule:
    rule_id: str
    citation: str
    summary: str
    status: RuleStatus
    functions: tuple[Callable[..., Any], ...]
    table: str | None = None
    source: str = ""

    def code_refs(self) -> list[str]:
        refs = [f"`{f.__module__.replace('.', '/')}.py::{f.__qualname__}`" for f in self.functions]
        if self.table:
            refs.append(f"`rules/jurisdictions.py::{self.table}`")
        return refs


def verifies(*rule_ids: str) -> Callable[[F], F]:
    """Mark a test as proving ``rule_ids`` (read by the traceability generator)."""

    def mark(fn: F) -> F:
        fn.__verifies__ = tuple(rule_ids)  # type: ignore[attr-defined]
        return fn

    return mark


V, R, I = RuleStatus.VERIFIED, RuleStatus.REPORTED, RuleStatus.INTERPRETATION

_FUNCTIONS_BY_PROVISION: dict[str, tuple[Callable[..., Any], ...]] = {
    "commissioner_notice.deadline": (cyber.commissioner_notice, calendar.deadline),
    "commissioner_notice.trigger_a1": (cyber.home_state_trigger,),
    "commissioner_notice.trigger_a2": (cyber.residents_trigger,),
    "commissioner_notice.domicile_trigger": (cyber.home_state_trigger,),
    "commissioner_notice.residents_trigger": (cyber.residents_trigger,),
    "commissioner_notice.triggers": (cyber.home_state_trigger, cyber.residents_trigger),
    "commissioner_notice.report_items": (cyber.commissioner_report_items,),
    "commissioner_notice.material_updates": (cyber.commissioner_notice,),
    "commissioner_notice.reported_clock": (cyber.commissioner_notice, cyber.reported_clock_due),
    "consumer_notice.deadline": (cyber.consumer_notice, cyber.consumer_notice_required),
    "consumer_notice.method": (cyber.consumer_notice_method, cyber.substitute_notice_triggers, cyber.individual_notice_method),
    "consumer_notice.law_enforcement_delay": (cyber.apply_law_enforcement_delay,),
    "consumer_notice.reported": (cyber.consumer_notice,),
    "ceding_insurer_notice.assuming_insurer": (cyber.assuming_insurer_notices,),
    "producer_notice": (cyber.producer_notice,),
    "producer_notice.reported": (cyber.producer_notice,),
    "tpsp.clock_start": (cyber.tpsp_clock_start, cyber.commissioner_clock_start),
    "tpsp.day_after": (cyber.reported_clock_due, calendar.clock_origin),
    "classification.paper_only": (cyber.state_law_excluded,),
    "licensee.foreign_assuming_insurer": (cyber.state_law_excluded,),
}


def _provision_functions(provision: Provision) -> tuple[Callable[..., Any], ...]:
    key = provision.rule_id.split(".", 1)[1]
    return _FUNCTIONS_BY_PROVISION[key]


_TRIGGER_SUMMARIES = {
    "al.commissioner_notice.domicile_trigger": "Domicile trigger also needs a reasonable likelihood of material harm.",
    "ia.commissioner_notice.domicile_trigger": "Domicile trigger needs a required government notice OR material harm.",
    "va.commissioner_notice.residents_trigger": "Trigger (2) reads: 250 or more residents OR notice required under another law.",
    "model.commissioner_notice.triggers": "Where a state's trigger wording is not verified, the model's wording applies: being the "
    "home state suffices (broadest reading; counsel review when only it fires); 250 residents and a government notice or harm.",
}


def _table_rules() -> list[Rule]:
    """One rule per distinct provision of the jurisdiction table."""
    seen: dict[str, Rule] = {}
    rows = [MODEL_FALLBACK, *CYBER_JURISDICTIONS.values()]
    for row in rows:
        for attr in (
            "commissioner",
            "domicile_provision",
            "residents_provision",
            "consumer",
            "substitute",
            "law_enforcement_delay",
            "assuming_insurer",
            "producer",
            "tpsp",
            "report_items",
            "material_updates",
            "paper_only_excluded",
            "foreign_assuming_insurer_excluded",
            "reported_consumer_rule",
        ):
            provision: Provision | None = getattr(row, attr)
            if provision is None or provision.rule_id in seen:
                continue
            state = "MODEL_FALLBACK" if row is MODEL_FALLBACK else f"CYBER_JURISDICTIONS['{row.state}']"
            summary = provision.summary or _TRIGGER_SUMMARIES.get(provision.rule_id, "")
            citation = provision.citation
            if provision.rule_id == "model.commissioner_notice.triggers":
                citation = "NAIC #668 § 6(A)(1)–(2) (model wording; state section not verified)"
            seen[provision.rule_id] = Rule(
                rule_id=provision.rule_id,
                citation=citation,
                summary=summary,
                status=provision.status,
                functions=_provision_functions(provision),
                table=f"{state}.{attr}",
                source=row.source,
            )
    return list(seen.values())


_EXPLICIT: tuple[Rule, ...] = (
    # ---- classification (seed: RSMo § 375.1402) -------------------------------------------
    Rule("cyber.classification.event", classification.CITE_EVENT,
         "Unauthorized access to, malicious disruption of, or misuse of an information system or nonpublic information.",
         V, (classification.classify_event,), source="seed: RSMo § 375.1402"),
    Rule("cyber.classification.encrypted_exclusion", classification.CITE_ENCRYPTED,
         "Not an event: encrypted information whose encryption, process or key was not also acquired, released or used.",
         V, (classification.encrypted_exclusion_applies, classification.classify_event), source="seed: RSMo § 375.1402"),
    Rule("cyber.classification.returned_exclusion", classification.CITE_RETURNED,
         "Not an event: the information was not used or released and has been returned or destroyed.",
         V, (classification.returned_or_destroyed_exclusion_applies, classification.classify_event), source="seed: RSMo § 375.1402"),
    Rule("cyber.npi.business", classification.CITE_NPI_BUSINESS,
         "Business-related information whose tampering or disclosure would cause a material adverse impact is NPI.",
         V, (classification.nonpublic_information,), source="seed: RSMo § 375.1402"),
    Rule("cyber.npi.consumer", classification.CITE_NPI_CONSUMER,
         "Consumer information with an identifier plus SSN, driver's licence, account number, access code, biometric "
         "records or military ID is NPI.",
         V, (classification.nonpublic_information, classification.involves_consumer_npi), source="seed: RSMo § 375.1402"),
    Rule("cyber.npi.health", classification.CITE_NPI_HEALTH,
         "Health information (except age or gender) about a consumer is NPI.",
         V, (classification.nonpublic_information, classification.involves_consumer_npi), source="seed: RSMo § 375.1402"),
    Rule("tn.ceding_insurer_notice.no_other_notice", cyber.ASSUMING_INSURER_NO_OTHER_NOTICE.citation,
         cyber.ASSUMING_INSURER_NO_OTHER_NOTICE.summary, V, (cyber.compute_obligations, cyber.assuming_insurer_notices),
         source="seed: Tenn. Code Ann. § 56-2-1006"),
    Rule("model.records.retention", jurisdictions.MODEL_RETENTION,
         "Records of every cybersecurity event are kept at least five years from the event (counted from closure, "
         "never earlier); no state's own section is in the seeds, so the model is cited, marked.",
         R, (lifecycle.retain_until, jurisdictions.retention_citation), source="JURISDICTIONS.md (common to all adopters)"),
    Rule("engine.citations.jurisdiction", "JURISDICTIONS.md; the seed texts",
         "Every entry and document cites the law of the jurisdiction it concerns: the state's section where the seeds "
         "or JURISDICTIONS.md give it; otherwise the model's (or Tennessee's, when the engine applies it), marked "
         "'section not verified', with counsel review.", I,
         (jurisdictions.report_items_citation, jurisdictions.event_definition_citation, jurisdictions.exclusion_citation,
          jurisdictions.investigation_citation, jurisdictions.consumer_notice_citation,
          jurisdictions.substitute_part_citation, cyber.applied_to, cyber.commissioner_report_items),
         source="engine"),
    # ---- engine interpretations ---------------------------------------------------------------
    Rule(cyber.RULE_STRICTEST_CLOCK, "JURISDICTIONS.md (engine policy)",
         "Unverified, reported or unlisted clocks: the strictest known clock (72 hours) applies and the obligation "
         "needs counsel review, with the reason.", I, (cyber.consumer_notice, cyber.commissioner_notice),
         table="STRICTEST_KNOWN_CLOCK", source="JURISDICTIONS.md"),
    Rule(cyber.RULE_BUSINESS_DAYS, "JURISDICTIONS.md (business days); e.g. Tenn. Code Ann. § 1-3-102",
         "Business days are weekdays that are not the state's legal holidays; days count from the day after the clock "
         "starts; a deadline ends at the end of its last day in the state's time zone; hour clocks are exact. "
         "Configurable through DeadlinePolicy.", I,
         (calendar.deadline, calendar.is_business_day, calendar.end_of_day), table="STATE_TIMEZONES", source="JURISDICTIONS.md"),
    Rule(cyber.RULE_DETERMINATION_ASSUMED, "Tenn. Code Ann. § 56-2-1006(a), (c)",
         "Without a recorded determination, clocks that run from it start at discovery (the earliest possible start) "
         "and the obligation needs counsel review.", I, (cyber.compute_obligations,), source="engine"),
    # ---- privacy: disclosure gate (28 TAC ch. 22) ---------------------------------------------
    Rule("tx.disclosure.affiliates", disclosure.CITE_SCOPE,
         "The subchapter limits disclosure to nonaffiliated third parties; disclosure to affiliates is not limited.",
         V, (disclosure.decide_disclosure,), source="seed: 28 TAC ch. 22"),
    Rule("tx.disclosure.conditions", disclosure.CITE_CONDITIONS,
         "No disclosure to a nonaffiliated third party unless initial notice, opt-out notice and a reasonable "
         "opportunity to opt out were given and the consumer has not opted out.",
         V, (disclosure.decide_disclosure,), source="JURISDICTIONS.md"),
    Rule("tx.opt_out.reasonable_opportunity.mail", disclosure.CITE_OPPORTUNITY_MAIL,
         "Mailed notices: the consumer may opt out within 30 days from the date mailed.",
         V, (disclosure.reasonable_opportunity,), table="OPT_OUT_REASONABLE_OPPORTUNITY_DAYS", source="JURISDICTIONS.md"),
    Rule("tx.opt_out.reasonable_opportunity.electronic", disclosure.CITE_OPPORTUNITY_ELECTRONIC,
         "Electronic notices on opening an account: 30 days after the customer acknowledges receipt.",
         V, (disclosure.reasonable_opportunity,), table="OPT_OUT_REASONABLE_OPPORTUNITY_DAYS", source="JURISDICTIONS.md"),
    Rule("tx.opt_out.reasonable_opportunity.isolated", disclosure.CITE_OPPORTUNITY_ISOLATED,
         "Isolated transaction: the consumer decides before the transaction is completed.",
         V, (disclosure.reasonable_opportunity,), source="JURISDICTIONS.md"),
    Rule("tx.opt_out.in_effect", disclosure.CITE_OPT_OUT_DIRECTION,
         "A consumer may opt out at any time; the direction stops the disclosure from its receipt (stricter than "
         "'as soon as reasonably practicable').",
         V, (disclosure.opt_out_in_effect, disclosure.decide_disclosure), source="JURISDICTIONS.md; seed: 28 TAC § 22.2(22)"),
    Rule("tx.opt_out.duration", "28 TAC § 22.11 (reported)",
         "An opt-out stays in effect, also after the relationship ends, until revoked in writing or electronically; "
         "reported, not verified: counsel review.",
         R, (disclosure.opt_out_in_effect,), source="JURISDICTIONS.md (reported)"),
    Rule("tx.delivery.actual_notice", disclosure.CITE_DELIVERY,
         "A notice counts only where actual notice can reasonably be expected: not oral alone, not a sign, not "
         "e-mail to a consumer who does not transact electronically.",
         V, (disclosure.delivery_gives_actual_notice,), source="seed: 28 TAC § 22.13"),
    Rule("tx.revised_notice.before_new_disclosure", disclosure.CITE_REVISED,
         "Nothing is disclosed other than as the notice the consumer received describes, until a revised notice, a new "
         "opt-out notice and a reasonable opportunity have been given.",
         V, (disclosure.decide_disclosure, disclosure.policy_describes), source="JURISDICTIONS.md"),
    Rule("tx.disclosure.exception_17", disclosure.CITE_EXCEPTION_17,
         "Service providers and joint marketers under contract: opt out does not apply; the initial notice does.",
         V, (disclosure.decide_disclosure,), source="JURISDICTIONS.md"),
    Rule("tx.disclosure.exceptions_18_19", f"{disclosure.CITE_EXCEPTION_18}; {disclosure.CITE_EXCEPTION_19}",
         "Processing and servicing, and the other exceptions: no notice and no opt out needed.",
         V, (disclosure.decide_disclosure,), source="JURISDICTIONS.md"),
    Rule("tx.account_numbers", disclosure.CITE_ACCOUNT_NUMBERS,
         "No policy/transaction account number to a nonaffiliated third party for marketing, except a service "
         "provider that cannot initiate charges, an identified affinity program, a consumer reporting agency, or "
         "an encrypted number without the key.",
         V, (disclosure.account_number_disclosure,), source="seed: 28 TAC § 22.16"),
    # 28 TAC §§ 22.53–22.57: JURISDICTIONS.md summarises them, but the subsections' text is neither
    # there nor in the seed (28 TAC §§ 22.1–22.26): reported, and every decision asks for counsel.
    Rule("tx.health.authorization", disclosure.CITE_HEALTH_AUTHORIZATION,
         "Health information is disclosed only under a written authorization received before the disclosure; "
         "reported, not verified: counsel review.",
         R, (disclosure.decide_disclosure,), source="JURISDICTIONS.md (summary; section text not in the seeds)"),
    Rule("tx.health.authorization_24_months", f"{disclosure.CITE_HEALTH_DURATION}(A)",
         "An authorization is valid at most 24 months from signature; reported, not verified.",
         R, (disclosure.health_authorization_status,), table="HEALTH_AUTHORIZATION_MAX_MONTHS",
         source="JURISDICTIONS.md (summary; section text not in the seeds)"),
    Rule("tx.health.revocation", f"{disclosure.CITE_HEALTH_REVOCATION}(a), (e)",
         "An authorization is revocable at any time; the revocation is carried out within 15 days of receipt; "
         "reported, not verified.",
         R, (disclosure.health_authorization_status,), table="HEALTH_REVOCATION_EFFECT_DAYS",
         source="JURISDICTIONS.md (summary; section text not in the seeds)"),
    # ---- privacy: notices ---------------------------------------------------------------------
    Rule("tx.revised_notice.required", "28 TAC § 22.12(b)(1)–(3)",
         "A revised notice is required before disclosing a new category of information, to a new category of "
         "nonaffiliated third party, or former customers' information they could not opt out of.",
         V, (privacy_notices.diff_policies,), source="JURISDICTIONS.md"),
    Rule("tx.revised_notice.not_required", "28 TAC § 22.12(b); § 22.10(d)(1), (g)",
         "No revised notice for a new recipient in a category already described, a disclosure already reserved, "
         "affiliates, or disclosures under §§ 22.17–22.19.",
         V, (privacy_notices.diff_policies,), source="JURISDICTIONS.md; seed: 28 TAC § 22.10"),
    Rule("tx.annual_notice.schedule", relationship.CITE_ANNUAL,
         "Annual notice once in any 12 consecutive months, in a licensee-defined period applied consistently "
         "(calendar year: by December 31 of the year after the initial notice).",
         V, (relationship.annual_notice_schedule,), table="ANNUAL_NOTICE_PERIOD_MONTHS", source="seed: 28 TAC § 22.9"),
    Rule("tx.annual_notice.former_customer", f"{relationship.CITE_FORMER}; 28 TAC § 22.5(b); 18 Del. Admin. Code § 904-1.11.2",
         "No annual notice to a former customer: the relationship ends on leaving, after 12 months lapsed without "
         "communication, on returned mail with a failed address search, or at settlement.",
         V, (relationship.relationship_status, relationship.relationship_end_candidates),
         table="RELATIONSHIP_DORMANCY_MONTHS", source="seed: 28 TAC §§ 22.5, 22.9; 18 Del. Admin. Code 904"),
    Rule("tx.notice_content.full", "28 TAC § 22.10(b)(1)–(9)",
         "A full privacy notice lists the nine items of § 22.10(b) that apply to the licensee.",
         V, (privacy_notices.lint_notice,), source="seed: 28 TAC § 22.10"),
    Rule("tx.notice_content.simplified", "28 TAC § 22.10(a)",
         "A simplified notice only where nothing goes to nonaffiliated third parties outside §§ 22.18–22.19; it states "
         "the nondisclosure policy and (b)(1), (b)(8), (b)(9), (c).",
         V, (privacy_notices.lint_notice, privacy_notices.simplified_notice_permitted), source="seed: 28 TAC § 22.10"),
)  # fmt: skip


def _build() -> MappingProxyType[str, Rule]:
    rules: dict[str, Rule] = {}
    for rule in (*_table_rules(), *_EXPLICIT):
        if rule.rule_id in rules:
            raise ValueError(f"duplicate rule id {rule.rule_id}")
        rules[rule.rule_id] = rule
    return MappingProxyType(dict(sorted(rules.items())))


#: Every rule the engine encodes, by id.
RULES: MappingProxyType[str, Rule] = _build()
