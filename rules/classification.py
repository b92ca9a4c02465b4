"""Is it a cybersecurity event, and which nonpublic information is involved? (RSMo § 375.1402)

RSMo § 375.1402(3): a cybersecurity event is "an event resulting in unauthorized access to,
malicious disruption of, or misuse of an information system or nonpublic information", with two
exclusions; § 375.1402(12) defines nonpublic information. Tennessee's act (Tenn. Code Ann.
§ 56-2-1003) uses the same model definitions.
"""

from __future__ import annotations

from models.incident import DataElement, IncidentIntake
from models.obligation import EventClassification, NpiCategory, Reason

CITE_EVENT = "RSMo § 375.1402(3)"
CITE_ENCRYPTED = "RSMo § 375.1402(3)(a)"
CITE_RETURNED = "RSMo § 375.1402(3)(b)"
CITE_NPI_BUSINESS = "RSMo § 375.1402(12)(a)"
CITE_NPI_CONSUMER = "RSMo § 375.1402(12)(b)"
CITE_NPI_HEALTH = "RSMo § 375.1402(12)(c)"

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


def classify_event(intake: IncidentIntake) -> EventClassification:
    """Classify an intake under RSMo § 375.1402(3) and (12); every conclusion carries its reason."""
    npi = nonpublic_information(intake.data_elements)
    consumer_elements = sorted(
        {e for e in intake.data_elements if e in CONSUMER_IDENTIFYING_ELEMENTS or e is DataElement.HEALTH},
        key=lambda e: e.value,
    )
    reasons: list[Reason] = []
    for category, cite, text in (
        (NpiCategory.BUSINESS, CITE_NPI_BUSINESS, "business-related information of the licensee"),
        (NpiCategory.CONSUMER_IDENTIFYING, CITE_NPI_CONSUMER, "consumer information combined with an identifier"),
        (NpiCategory.HEALTH, CITE_NPI_HEALTH, "health information of a consumer"),
    ):
        if category in npi:
            reasons.append(Reason(code=f"npi.{category.value}", message=f"Nonpublic information involved: {text}.", citation=cite))

    excluded = False
    if encrypted_exclusion_applies(intake):
        excluded = True
        reasons.append(
            Reason(
                code="exclusion.encrypted",
                message="Not a cybersecurity event: the information was encrypted and the encryption, process or "
                "key was not also acquired, released or used.",
                citation=CITE_ENCRYPTED,
            )
        )
    if returned_or_destroyed_exclusion_applies(intake):
        excluded = True
        reasons.append(
            Reason(
                code="exclusion.returned_or_destroyed",
                message="Not a cybersecurity event: the information was not used or released and has been "
                "returned or destroyed.",
                citation=CITE_RETURNED,
            )
        )
    if not excluded:
        reasons.insert(
            0,
            Reason(
                code="event",
                message="A cybersecurity event: unauthorized access to, disruption or misuse of an information "
                "system or nonpublic information, and neither exclusion applies.",
                citation=CITE_EVENT,
            ),
        )
    return EventClassification(
        is_cybersecurity_event=not excluded,
        nonpublic_information=npi,
        consumer_data_elements=consumer_elements,
        reasons=reasons,
    )
