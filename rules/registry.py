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
    breach_laws,
    calendar,
    classification,
    cyber,
    disclosure,
    effective,
    exemptions,
    jurisdictions,
    general_law,
    lifecycle,
    privacy_notices,
    relationship,
    triggers,
)
from rules.jurisdictions import CYBER_JURISDICTION_VERSIONS, MODEL_FALLBACK, CyberJurisdiction, Provision

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
            # A table in another module names its file ("rules/breach_laws.py::BREACH_LAWS['TX']").
            refs.append(f"`{self.table}`" if "::" in self.table else f"`rules/jurisdictions.py::{self.table}`")
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
    # ---- issue 12: the new rows' variants (rules/commissioner_rows.py, rules/commissioner_reported_rows.py)
    "commissioner_notice.reported_clock_sb_2088": (cyber.commissioner_notice, cyber.reported_clock_due, jurisdictions.jurisdiction_for),
    "commissioner_notice.one_resident": (triggers.residents_trigger, cyber.commissioner_clock_start),
    "commissioner_notice.covered_entity": (triggers.covered_entity_trigger, cyber.applicable_states),
    "commissioner_notice.small_licensee_exemption": (exemptions.size_exemption_effect, exemptions.size_exemption_reason, cyber.state_law_excluded),
    "commissioner_notice.when_consumers_notified": (cyber.commissioner_notice,),
    "ceding_insurer_notice.reported": (cyber.assuming_insurer_notices, cyber.reported_clock_due),
    "tpsp.covered_entity_events": (cyber.commissioner_clock_start,),
}
#: Functions added for one rule id only (RI's scope lives in its home-state trigger).
_EXTRA_FUNCTIONS: dict[str, tuple[Callable[..., Any], ...]] = {
    "ri.commissioner_notice.domicile_trigger": (triggers.licensee_scope, cyber.state_law_excluded),
}


def _provision_functions(provision: Provision) -> tuple[Callable[..., Any], ...]:
    key = provision.rule_id.split(".", 1)[1]
    return _FUNCTIONS_BY_PROVISION[key] + _EXTRA_FUNCTIONS.get(provision.rule_id, ())


_TRIGGER_SUMMARIES = {
    "model.commissioner_notice.triggers": "Where a state's trigger wording is not verified, the model's wording applies: being the "
    "home state suffices (broadest reading; counsel review when only it fires); 250 residents and a government notice or harm.",
}


def _table_rules() -> list[Rule]:
    """One rule per distinct provision of the jurisdiction table, every version of every row."""
    seen: dict[str, Rule] = {}
    rows: list[tuple[str, CyberJurisdiction]] = [("rules/commissioner_reported_rows.py::MODEL_FALLBACK", MODEL_FALLBACK)]
    for state, versions in CYBER_JURISDICTION_VERSIONS.items():
        for index, version in enumerate(versions):
            at = f"[{index}]" if len(versions) > 1 else ""
            table = "CYBER_JURISDICTION_VERSIONS" if at else "CYBER_JURISDICTIONS"
            rows.append((f"rules/commissioner_rows.py::{table}['{state}']{at}", version))
    for where, row in rows:
        for attr, provision in row.provisions():
            if provision.rule_id in seen:
                continue
            summary = provision.summary or _TRIGGER_SUMMARIES.get(provision.rule_id, "")
            if row.effective_from is not None:
                summary += f" (in force from {row.effective_from.isoformat()})"
            citation = provision.citation
            if provision.rule_id == "model.commissioner_notice.triggers":
                citation = "NAIC #668 § 6(A)(1)–(2) (model wording; state section not verified)"
            seen[provision.rule_id] = Rule(
                rule_id=provision.rule_id,
                citation=citation,
                summary=summary,
                status=provision.status,
                functions=_provision_functions(provision),
                table=f"{where}.{attr}",
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
         table="rules/jurisdiction_row.py::STRICTEST_KNOWN_CLOCK", source="JURISDICTIONS.md"),
    Rule(cyber.RULE_BUSINESS_DAYS, "JURISDICTIONS.md (business days); e.g. Tenn. Code Ann. § 1-3-102",
         "Business days are weekdays that are not the state's legal holidays; days count from the day after the clock "
         "starts; a deadline ends at the end of its last day in the state's time zone; hour clocks are exact. "
         "Configurable through DeadlinePolicy.", I,
         (calendar.deadline, calendar.is_business_day, calendar.end_of_day), table="rules/states.py::STATE_TIMEZONES", source="JURISDICTIONS.md"),
    Rule("engine.effective.commissioner_rows", "JURISDICTIONS.md (AK in force 2025-01-01; IL eff. 2024-01-01; "
         "RI eff. 2025-01-01; ND 2025 SB 2088)",
         "Every commissioner-notice row carries the date it took effect; an event is judged by the version in force on "
         "its trigger date (the determination's local date in the state's zone; discovery while none is recorded). "
         "Before a state's first row took effect the NAIC model fallback applies, saying so; without a date the "
         "newest version answers (citations).", I,
         (jurisdictions.jurisdiction_for, effective.in_force, cyber.compute_obligations),
         table="rules/commissioner_rows.py::CYBER_JURISDICTION_VERSIONS", source="JURISDICTIONS.md"),
    Rule("model.commissioner_notice.no_insurance_act", "JURISDICTIONS.md (Terms: no insurance act found)",
         "No insurance data security act was found for OR, TX, NE, AR, AZ, MT, CO, KS, WV, NC, GA, UT, CA: the general "
         "breach law governs consumer and attorney-general notice; the fallback commissioner notice (72 hours) is kept, "
         "never silent, with a counsel-review reason saying so (TX: TDI bulletin B-0009-23 asks insurers to e-mail TDI, "
         "no deadline).", R, (cyber.unverified_reason, jurisdictions.jurisdiction_for),
         table="rules/commissioner_reported_rows.py::NO_INSURANCE_ACT_STATES", source="JURISDICTIONS.md"),
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


def _breach_law_rules() -> list[Rule]:
    """The general breach-notification laws (rules/breach_laws.py): one rule per provision of every
    version, and the engine's readings of that table (rules/general_law.py)."""
    seen: dict[str, Rule] = {}
    for state, versions in breach_laws.BREACH_LAWS.items():
        for index, law in enumerate(versions):
            for attr, provision in law.provisions():
                if provision.rule_id in seen:
                    continue
                functions = (
                    (general_law.consumer_notice, general_law.clock_start, calendar.deadline)
                    if attr == "consumer"
                    else (general_law.office_notice, breach_laws.Threshold.met)
                )
                seen[provision.rule_id] = Rule(
                    rule_id=provision.rule_id,
                    citation=provision.citation,
                    summary=provision.summary,
                    status=provision.status,
                    functions=functions,
                    table=f"rules/breach_laws.py::BREACH_LAWS['{state}'][{index}].{attr}",
                    source="JURISDICTIONS.md (general breach-notification laws)",
                )
    gl, md = general_law, "JURISDICTIONS.md (general breach-notification laws)"
    engine = "JURISDICTIONS.md; rules/breach_laws.py (engine reading)"
    explicit = (
        Rule(gl.RULE_GOVERNS, md,
             "Where a state's general breach law is in force and its insurance act has no verified consumer clock of its "
             "own, the general law governs consumer notice (the act's 72-hour fallback is not also produced); where both "
             "apply, both obligations exist, with the same recipient_key and distinct ids (':general_law').",
             I, (gl.governs_consumer_notice, gl.general_law_obligations, cyber.consumer_notice, cyber.compute_obligations),
             source=md),
        Rule(gl.RULE_LAWS_SATISFIED, md,
             "Each obligation lists the laws one delivery of its notice satisfies: its own and those of every obligation "
             "of the same kind and recipient_key (never producers of record or an excused obligation); the earlier due "
             "governs the delivery.", I, (gl.with_laws_satisfied,), source=md),
        Rule(gl.RULE_PERSONAL_INFORMATION, engine, gl.ENGINE_SUMMARIES[gl.RULE_PERSONAL_INFORMATION], I,
             (gl.law_reaches,), source=md),
        Rule(gl.RULE_ENCRYPTION, f"{classification.CITE_ENCRYPTED} (read for the general laws)",
             "The general laws' encryption safe harbor is read as the insurance act's exclusion (encrypted, key not "
             "acquired, released or used): no notice, with a reason asking counsel to confirm the state's wording; "
             "information returned or destroyed unused is no exclusion in the table: counsel decides, never silence.",
             I, (gl.not_an_event_reasons,), source=md),
        Rule(gl.RULE_CARVE_OUTS, engine, gl.ENGINE_SUMMARIES[gl.RULE_CARVE_OUTS], I, (gl.law_reaches,), source=md),
        Rule(gl.RULE_SHORTEST_CONSUMER_CLOCK, md, gl.ENGINE_SUMMARIES[gl.RULE_SHORTEST_CONSUMER_CLOCK], I,
             (gl.consumer_notice, breach_laws.shortest_consumer_clock), source=md),
        Rule(gl.RULE_EXPEDIENT, "815 ILCS 530/10; DeadlinePolicy.expedient_notice_days",
             gl.ENGINE_SUMMARIES[gl.RULE_EXPEDIENT], I, (gl.consumer_notice,), source=md),
        Rule(gl.RULE_UNLISTED, md, "A licensee exempt from a state's insurance act by its size still owes consumer notice "
             "under the state's general breach law; where the table does not hold that law, the notice is kept on the "
             "shortest known general-law consumer clock from discovery, with counsel review.", R,
             (gl.unlisted_law, gl.general_law_obligations, cyber.compute_obligations), source=md),
        Rule(gl.RULE_OFFICE_DEADLINE, md, gl.ENGINE_SUMMARIES[gl.RULE_OFFICE_DEADLINE], I,
             (gl.office_notice, breach_laws.shortest_office_clock), source=md),
    )  # fmt: skip
    return [*seen.values(), *explicit]


def _build() -> MappingProxyType[str, Rule]:
    rules: dict[str, Rule] = {}
    for rule in (*_table_rules(), *_EXPLICIT, *_breach_law_rules()):
        if rule.rule_id in rules:
            raise ValueError(f"duplicate rule id {rule.rule_id}")
        rules[rule.rule_id] = rule
    return MappingProxyType(dict(sorted(rules.items())))


#: Every rule the engine encodes, by id.
RULES: MappingProxyType[str, Rule] = _build()
