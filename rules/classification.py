"""Is it a cybersecurity event, and which nonpublic information is involved — under the law of each
state examined?

The seed RSMo § 375.1402(3) defines a cybersecurity event as "an event resulting in unauthorized
access to, malicious disruption of, or misuse of an information system or nonpublic information",
with two exclusions; § 375.1402(12) defines nonpublic information. The NAIC model (#668 § 3) and
its adopters use the same definitions — Tennessee in Tenn. Code Ann. § 56-2-1003, which the seed
§ 56-2-1006 refers to for its terms. The test is the same everywhere; the citation is not: every
reason names the state whose law it reads and cites that state's section (``rules.jurisdictions``),
or the model's, marked "(model; state section not verified)" and flagged for counsel review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from models.incident import DataElement, IncidentIntake
from models.licensee import LicenseeKind
from models.obligation import EventClassification, NpiCategory, Reason
from rules.jurisdictions import (
    EXCLUSION_ENCRYPTED,
    EXCLUSION_RETURNED,
    MODEL_MARK,
    STATE_NAMES,
    event_definition_citation,
    exclusion_citation,
    needs_counsel_review,
)

#: The seed's sections (Missouri), as the rule registry lists the classification rules.
CITE_EVENT = "RSMo § 375.1402(3)"
CITE_ENCRYPTED = "RSMo § 375.1402(3)(a)"
CITE_RETURNED = "RSMo § 375.1402(3)(b)"
CITE_NPI_BUSINESS = "RSMo § 375.1402(12)(a)"
CITE_NPI_CONSUMER = "RSMo § 375.1402(12)(b)"
CITE_NPI_HEALTH = "RSMo § 375.1402(12)(c)"

#: "Nonpublic information" per state: the seed's subdivisions for Missouri; Tennessee's definitions
#: section, which the seed § 56-2-1006 names for the term ("See Tennessee Code 56-2-1003") without
#: its subdivision numbers. Any other state: the model's § 3(K), marked.
_NPI_DEFINITION: dict[str, dict[NpiCategory, str]] = {
    "MO": {
        NpiCategory.BUSINESS: CITE_NPI_BUSINESS,
        NpiCategory.CONSUMER_IDENTIFYING: CITE_NPI_CONSUMER,
        NpiCategory.HEALTH: CITE_NPI_HEALTH,
    },
    "TN": dict.fromkeys(NpiCategory, "Tenn. Code Ann. § 56-2-1003"),
}
MODEL_NONPUBLIC_INFORMATION = f"NAIC #668 § 3(K) {MODEL_MARK}"

#: § 375.1402(12)(b) a.–f.: data elements that, combined with an identifier, make consumer NPI.
CONSUMER_IDENTIFYING_ELEMENTS: frozenset[DataElement] = frozenset(
    {
        DataElement.SSN,
        DataElement.DRIVERS_LICENSE,
        DataElement.FINANCIAL_ACCOUNT,
        DataElement.ACCESS_CODE,
        DataElement.BIOMETRIC,
        DataElement.MILITARY_ID,
    }
)

_NPI_WORDS: tuple[tuple[NpiCategory, str], ...] = (
    (NpiCategory.BUSINESS, "business-related information of the licensee"),
    (NpiCategory.CONSUMER_IDENTIFYING, "consumer information combined with an identifier"),
    (NpiCategory.HEALTH, "health information of a consumer"),
)


def encrypted_exclusion_applies(intake: IncidentIntake) -> bool:
    """RSMo § 375.1402(3)(a): "does not include the unauthorized acquisition of encrypted,
    nonpublic information if the encryption, process, or key is not also acquired, released, or
    used without authorization"."""
    return intake.encrypted and not intake.key_compromised


def returned_or_destroyed_exclusion_applies(intake: IncidentIntake) -> bool:
    """RSMo § 375.1402(3)(b): "does not include an event with regard to which the licensee has
    determined that the nonpublic information accessed by an unauthorized person has not been used
    or released and has been returned or destroyed"."""
    return intake.returned_or_destroyed_unused


def nonpublic_information(elements: list[DataElement]) -> list[NpiCategory]:
    """RSMo § 375.1402(12): business information (a), consumer information combined with an
    identifier and one of the data elements a.–f. (b), health information (c).

    The intake lists only elements tied to a consumer identifier, as responders record them.
    """
    found: list[NpiCategory] = []
    if DataElement.BUSINESS in elements:
        found.append(NpiCategory.BUSINESS)
    if any(e in CONSUMER_IDENTIFYING_ELEMENTS for e in elements):
        found.append(NpiCategory.CONSUMER_IDENTIFYING)
    if DataElement.HEALTH in elements:
        found.append(NpiCategory.HEALTH)
    return found


def involves_consumer_npi(elements: list[DataElement]) -> bool:
    """Consumer nonpublic information (§ 375.1402(12)(b) or (c)) is involved."""
    return any(e in CONSUMER_IDENTIFYING_ELEMENTS or e is DataElement.HEALTH for e in elements)


def nonpublic_information_citation(state: str, category: NpiCategory) -> str:
    """The section of ``state``'s law defining this kind of nonpublic information; the model's
    § 3(K), marked, where the state's own section is not verified."""
    return _NPI_DEFINITION.get(state, {}).get(category, MODEL_NONPUBLIC_INFORMATION)


def examined_states(intake: IncidentIntake) -> list[str]:
    """The states whose law is examined: every state with affected residents, and the licensee's
    home jurisdiction (domicile or home state) for the home-state trigger; for an assuming insurer,
    the states of affected consumers and its state of domicile."""
    if intake.licensee.kind is LicenseeKind.ASSUMING_INSURER:
        states = {row.state for row in intake.affected if row.consumers > 0} | {intake.licensee.domicile_state}
    else:
        states = {row.state for row in intake.affected} | {intake.licensee.home_jurisdiction}
    return sorted(states)


def _state_reason(code: str, state: str, message: str, citation: str) -> Reason:
    return Reason(
        code=code,
        message=message,
        citation=citation,
        jurisdiction=state,
        needs_counsel_review=needs_counsel_review(citation),
    )


def _under(state: str) -> str:
    return f"Under {STATE_NAMES.get(state, state)} law"


def classify_event(intake: IncidentIntake, states: Iterable[str] | None = None) -> EventClassification:
    """Classify an intake under each examined state's definitions of "cybersecurity event" and
    "nonpublic information" (``states``; default ``examined_states``): one reason per state and
    conclusion, each citing that state's own section — or the model's, marked, with
    ``needs_counsel_review``."""
    examined: Sequence[str] = sorted(set(states)) if states is not None else examined_states(intake)
    npi = nonpublic_information(intake.data_elements)
    consumer_elements = sorted(
        {e for e in intake.data_elements if e in CONSUMER_IDENTIFYING_ELEMENTS or e is DataElement.HEALTH},
        key=lambda e: e.value,
    )
    exclusions: list[tuple[str, str, str]] = []
    if encrypted_exclusion_applies(intake):
        exclusions.append(
            (
                EXCLUSION_ENCRYPTED,
                "exclusion.encrypted",
                (
                    "the information was encrypted and the encryption, process or key was not also acquired, "
                    "released or used"
                ),
            )
        )
    if returned_or_destroyed_exclusion_applies(intake):
        exclusions.append(
            (
                EXCLUSION_RETURNED,
                "exclusion.returned_or_destroyed",
                "the information was not used or released and has been returned or destroyed",
            )
        )
    event_reasons: list[Reason] = []
    npi_reasons: list[Reason] = []
    for state in examined:
        if exclusions:
            for exclusion, code, words in exclusions:
                event_reasons.append(_state_reason(
                    code, state, f"{_under(state)}, not a cybersecurity event: {words}.",
                    exclusion_citation(state, exclusion),
                ))
        else:
            event_reasons.append(_state_reason(
                "event", state,
                f"{_under(state)}, a cybersecurity event: unauthorized access to, disruption or misuse of an "
                "information system or nonpublic information, and neither exclusion applies.",
                event_definition_citation(state),
            ))
        for category, words in _NPI_WORDS:
            if category in npi:
                npi_reasons.append(_state_reason(
                    f"npi.{category.value}", state,
                    f"{_under(state)}, nonpublic information involved: {words}.",
                    nonpublic_information_citation(state, category),
                ))
    return EventClassification(
        is_cybersecurity_event=not exclusions,
        nonpublic_information=npi,
        consumer_data_elements=consumer_elements,
        reasons=event_reasons + npi_reasons,
    )


#: The codes of the reasons stating whether the event is a cybersecurity event under a state's law.
DEFINITION_CODES = frozenset({"event", "exclusion.encrypted", "exclusion.returned_or_destroyed"})
#: Reasons why a state's law gives no obligation, or less than it might: a state's exclusion or
#: exemption, a general breach law that does not reach the event, a missing trigger.
NO_OBLIGATION_PREFIXES = ("no_obligation.", "no_commissioner_notice.", "exemption.", "exclusion.", "general_law.",
                          "assuming_insurer")


def classification_ledger_data(reasons: Iterable[Reason]) -> dict[str, object]:
    """What a determination's entry states of the classification: each examined state's sections
    defining the event (or the exclusions applied), and the states resting on the model only."""
    definitions: dict[str, list[str]] = {}
    review: set[str] = set()
    for r in reasons:
        if r.jurisdiction and r.code in DEFINITION_CODES and r.citation:
            definitions.setdefault(r.jurisdiction, []).append(r.citation)
            if r.needs_counsel_review:
                review.add(r.jurisdiction)
    return {
        "definitions": {state: "; ".join(dict.fromkeys(cites)) for state, cites in sorted(definitions.items())},
        "definitions_need_counsel_review": sorted(review),
        # Why a state gives no obligation, or a law does not reach the event (an exemption, a
        # threshold not met, a licensee the act does not cover): the answer is never silent.
        "no_obligation_reasons": [
            {"code": r.code, "jurisdiction": r.jurisdiction, "message": r.message, "citation": r.citation,
             "needs_counsel_review": r.needs_counsel_review}
            for r in reasons
            if r.code.startswith(NO_OBLIGATION_PREFIXES) and r.code not in DEFINITION_CODES
        ],
    }
