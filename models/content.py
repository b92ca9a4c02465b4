"""Who notices go to besides consumers, what responders write into them, and the documents
they become. No consumer appears here: these models travel in workflow payloads.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from models.common import NoticeflowModel

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
SHA256_PATTERN = r"^[0-9a-f]{64}$"


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address (expected name@domain.tld)")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def blank_to_none(value: object) -> object:
    # CSV uploads carry empty cells for absent values.
    if isinstance(value, str) and not value.strip():
        return None
    return value


Email = Annotated[str, AfterValidator(_email)]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]
OptionalText = Annotated[str | None, BeforeValidator(blank_to_none)]


class DocumentKind(StrEnum):
    COMMISSIONER_REPORT = "commissioner_report"
    CONSUMER_LETTER = "consumer_letter"
    CONSUMER_EMAIL = "consumer_email"
    WEBSITE_POSTING = "website_posting"
    MEDIA_NOTICE = "media_notice"
    PRODUCER_NOTICE = "producer_notice"
    CEDING_INSURER_NOTICE = "ceding_insurer_notice"
    ATTORNEY_GENERAL_NOTICE = "attorney_general_notice"


class DocumentRef(NoticeflowModel):
    """A rendered document in the content-addressed store: the file is ``<sha256>.<ext>``."""

    kind: DocumentKind
    sha256: Sha256
    path: str = Field(description="Path of the file relative to the document store (Settings.documents_dir).")
    media_type: str
    size: int = Field(ge=0)
    citation: str = Field(description="The rule the document fulfils.")


class PostalAddress(NoticeflowModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: OptionalText = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str = Field(min_length=1, max_length=100, description="State, province or region of the address.")
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field("US", min_length=2, max_length=2)

    def lines(self) -> list[str]:
        last = f"{self.city}, {self.region} {self.postal_code}"
        out = [self.line1, *([self.line2] if self.line2 else []), last]
        if self.country != "US":
            out.append(self.country)
        return out


class Producer(NoticeflowModel):
    """A producer of record (Tenn. Code Ann. § 56-2-1006(f))."""

    producer_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    email: Email


class CedingInsurer(NoticeflowModel):
    """A ceding insurer an assuming insurer notifies (Tenn. Code Ann. § 56-2-1006(e))."""

    name: str = Field(min_length=1, max_length=200)
    naic_code: str = Field(min_length=1, max_length=20)
    email: Email


class NoticeContact(NoticeflowModel):
    """How a recipient of a notice reaches the licensee."""

    phone: str = Field(min_length=1, max_length=50)
    email: Email | None = None
    hours: str | None = Field(None, max_length=200, description="e.g. 'Monday–Friday, 8 a.m.–6 p.m. Central'.")
    postal_address: PostalAddress | None = None
    website_url: str | None = Field(None, max_length=500)


class Representative(NoticeflowModel):
    """The licensee's representative for contact from the commissioner (§ 56-2-1006(b)(1)(M))."""

    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    email: Email
    phone: str = Field(min_length=1, max_length=50)


#: The licensee's free text that goes into every notice: checked for NPI when the event starts
#: (the API) and again before anything is rendered (the documents).
NOTICE_FREE_TEXT = ("what_happened", "information_involved", "what_we_are_doing", "what_you_can_do", "services_offered", "signatory")


class NoticeContent(NoticeflowModel):
    """What responders write for the notices. Omitted texts are written from the event itself."""

    contact: NoticeContact
    what_happened: str | None = Field(None, max_length=8000)
    information_involved: str | None = Field(None, max_length=4000, description="Default: the data elements of the intake.")
    what_we_are_doing: str | None = Field(None, max_length=8000)
    what_you_can_do: str | None = Field(None, max_length=8000, description="Default: fraud alert, credit freeze, reports.")
    services_offered: str | None = Field(None, max_length=4000, description="e.g. credit monitoring offered at no cost.")
    signatory: str | None = Field(None, max_length=200, description="Name and title signing the letters.")
    notice_page_url: str | None = Field(
        None,
        max_length=500,
        description="Page of the licensee's website where notices are posted; none means the licensee "
        "maintains no website page (§ 56-2-1006(c)(3)(B) applies 'if the licensee maintains a website page').",
    )
    representative: Representative | None = None
    privacy_policy_url: str | None = Field(None, max_length=500, description="For report item (L).")
