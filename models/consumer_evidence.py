"""What a consumer notice's sending and its confirmation rest on (Tenn. Code Ann. § 56-2-1006(c)).

Sent is not received. The consumer-notice workflow records ``consumer_notice.sent`` with each
channel's evidence of sending and ``consumer_notice.met`` with what confirmed it, both read from
the delivery store by the ``consumer_notice_evidence`` activity:

* letters — the print vendor's mailing manifests (their SHA-256) listing them; confirmed by those
  manifests unless a letter is reported returned;
* e-mails — the relay's queue id per recipient, kept in the delivery store: the ledger gets their
  count and a digest of the list, never the list; confirmed when the bounce window passes without a
  hard bounce;
* substitute notice — the website posting (B) at the licensee's notice page and the notice to
  major statewide media (C). The channels record no publication or outlet confirmation, so the
  posting's own URL and the media channel's submission record stand in for it, and say so.

Counts, digests, ids and URLs only: no consumer's name, address or e-mail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from models.common import NoticeflowModel
from models.content import Sha256
from models.obligation import Obligation

#: How a substitute-notice part is confirmed: by what its channel recorded, or — the channel
#: recording none — by the posting's own URL (website) or the channel's submission record (media).
PartConfirmation = Literal["publication_url", "posting_url", "outlet_confirmation", "submission_record"]


class ConsumerEvidenceInput(NoticeflowModel):
    obligation: Obligation = Field(description="The consumer_notice obligation whose deliveries are read.")
    notice_page_url: str | None = Field(None, description="The licensee's notice page: where the (B) posting is published.")
    media_outlets: list[str] = Field(default_factory=list, description="The major statewide media the (C) notice went to.")


class EmailEvidence(NoticeflowModel):
    """Consumer e-mails ((c)(2), or (c)(3)(A) under substitute notice) the relay accepted."""

    sent: int = Field(ge=0, description="Accepted by the relay and not come back.")
    returned: int = Field(0, ge=0, description="A hard bounce recorded after sending.")
    queue_ids: int = Field(0, ge=0, description="Of those sent, how many the relay named a queue id for.")
    relay_ids_sha256: Sha256 | None = Field(
        None,
        description="SHA-256 of the sent e-mails' relay ids, one line per recipient — '<consumer_ref> <queue id, else "
        "Message-ID>\\n' — in consumer_ref order: recomputable from notice_deliveries.evidence.",
    )
    first_sent_at: AwareDatetime | None = None
    last_sent_at: AwareDatetime | None = None

    def ledger_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class LetterEvidence(NoticeflowModel):
    """Consumer letters ((c)(1)) handed to the print vendor in sealed batches."""

    sent: int = Field(ge=0, description="Listed on a mailing manifest and not reported returned.")
    returned: int = Field(0, ge=0, description="Reported returned by the mail vendor.")
    manifests_sha256: list[Sha256] = Field(default_factory=list, description="The mailing manifests listing the letters sent.")
    first_sent_at: AwareDatetime | None = None
    last_sent_at: AwareDatetime | None = None

    def ledger_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class PartEvidence(NoticeflowModel):
    """A substitute-notice part made once for the whole state: (B) the website posting, (C) the
    notice to major statewide media."""

    part: Literal["B", "C"]
    channel: Literal["website", "media"]
    citation: str
    location: str | None = Field(None, description="The posting / media notice, relative to the outbox.")
    document_sha256: Sha256 | None = None
    sent_at: AwareDatetime | None = Field(None, description="When the channel took it.")
    url: str | None = Field(None, description="(B): the licensee's notice page the posting is published at.")
    outlets: list[str] = Field(default_factory=list, description="(C): the outlets the media notice went to.")
    confirmed_by: PartConfirmation
    note: str = Field(description="What stands as the confirmation, in words.")

    def ledger_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ConsumerNoticeEvidence(NoticeflowModel):
    """A consumer notice's deliveries as the delivery store holds them now, every round included."""

    obligation_id: str
    emails: EmailEvidence | None = Field(None, description="None: no consumer e-mail was sent.")
    letters: LetterEvidence | None = Field(None, description="None: no consumer letter was printed.")
    website: PartEvidence | None = Field(None, description="None: no (B) posting (not substitute notice, or no notice page).")
    media: PartEvidence | None = Field(None, description="None: no (C) media notice (not substitute notice).")
    notified: int = Field(ge=0, description="Consumers with an e-mail or letter sent and not come back.")
    covered_by_substitute: int = Field(0, ge=0)
    outstanding: int = Field(0, ge=0, description="Consumers on the roster neither notified nor covered (came back, no channel).")
    in_doubt: int = Field(0, ge=0)
    bounce_window: timedelta = Field(description="NOTICEFLOW_BOUNCE_WINDOW_DAYS: how long a hard bounce may still come back.")

    @property
    def emails_sent(self) -> int:
        return self.emails.sent if self.emails else 0

    @property
    def returned(self) -> tuple[int, int]:
        """(e-mails, letters) recorded as come back."""
        return (self.emails.returned if self.emails else 0, self.letters.returned if self.letters else 0)

    def channels_data(self) -> dict[str, Any]:
        """The evidence of sending per channel, for ``consumer_notice.sent``."""
        parts = {"email": self.emails, "postal": self.letters, "website": self.website, "media": self.media}
        return {name: part.ledger_data() for name, part in parts.items() if part is not None}
