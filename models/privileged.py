"""Privileged text: counsel's notes, privileged findings and the (J) internal review.

The text itself never enters the ledger, the Temporal history in the clear (payloads are sealed by
the codec) or an examination bundle. It is sealed in the document store
(``activities/sealed_documents.py``); the ledger keeps a digest of it and a privilege marker, and
an export lists the entry in its privilege log ("withheld") instead of the content.

Why a keyed commitment and not ``sha256(text)``: a plain hash lets anyone holding the bundle
confirm a guess of the privileged text ("controls were not followed" — hash it and compare), and a
short note is easily guessed. ``npi_digest`` (HMAC under the deployment's one secret) would hide
it, but proving the text later — to a court reviewing the privilege claim, or to the regulator if
the privilege is waived — would mean disclosing the secret behind every consumer_ref of the
ledger. So each text gets its own random 32-byte opening key, sealed with it:
``digest = "hmac-sha256:" + HMAC-SHA256(opening_key, UTF-8 text)``. Disclosing one text with its
opening key proves that text, and nothing else (docs/ledger-format.md § 2, privileged entries).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from models.common import NoticeflowModel

#: The digest scheme of ``SealedRef.digest`` (see the module docstring).
DIGEST_SCHEME = "hmac-sha256-commitment/v1"
#: What an examination bundle's privilege log says of every privileged entry.
WITHHELD = "withheld"


class PrivilegeBasis(StrEnum):
    """Why a text is withheld, in the words a privilege log uses."""

    #: A confidential communication between the licensee and its counsel for legal advice —
    #: counsel's notes on a rule, on a counsel-review flag.
    ATTORNEY_CLIENT = "attorney_client"
    #: Prepared by or at the direction of counsel in anticipation of litigation — forensic
    #: findings commissioned through counsel, the internal review behind report item (J).
    WORK_PRODUCT = "work_product"

    @property
    def words(self) -> str:
        return {
            PrivilegeBasis.ATTORNEY_CLIENT: "attorney-client privilege",
            PrivilegeBasis.WORK_PRODUCT: "attorney work product",
        }[self]


class SealRequest(NoticeflowModel):
    """What the event workflow seals before it ledgers a privileged step."""

    incident_id: str = Field(min_length=1, max_length=200)
    step: str = Field(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="The workflow step the text belongs to (e.g. finding/3, counsel-review/1): with the incident it "
        "names the sealed document, so a retried activity seals it once.",
    )
    text: str = Field(min_length=1, max_length=16000, description="The privileged text. Sealed; never ledgered.")
    actor: str = Field(min_length=1, max_length=200, description="Who wrote it (the actor of the step).")
    basis: PrivilegeBasis


class SealedRef(NoticeflowModel):
    """A sealed privileged text, named without its content: what the ledger may keep."""

    document_id: str = Field(description="<incident_id>/<step>: the sealed document's key in the store.")
    digest: str = Field(pattern=r"^hmac-sha256:[0-9a-f]{64}$", description="Keyed commitment to the text (module docstring).")
    digest_scheme: Literal["hmac-sha256-commitment/v1"] = DIGEST_SCHEME
    basis: PrivilegeBasis
    key_id: str = Field(description="The codec key the text is sealed under (keys rotate; every key opens).")

    def ledger_marker(self, withheld: str) -> dict[str, Any]:
        """The ledger data of a privileged step in place of ``withheld`` (the field whose text is
        sealed, e.g. ``summary`` or ``notes``). An export's privilege log is built from it."""
        return {
            "privileged": True,
            "privilege": {
                "basis": self.basis.value,
                "withheld": withheld,
                "digest": self.digest,
                "digest_scheme": self.digest_scheme,
                "sealed_document": self.document_id,
            },
        }


class SealedText(NoticeflowModel):
    """A sealed text opened again (for counsel, or to produce it under a court's order): the text
    and the opening key that proves it against the ledgered digest."""

    ref: SealedRef
    text: str
    opening_key: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex of the 32-byte HMAC key of the commitment.")
    actor: str


__all__ = ["DIGEST_SCHEME", "WITHHELD", "PrivilegeBasis", "SealRequest", "SealedRef", "SealedText"]
