"""Print batches as print vendors take them: one rendered notice per batch with merge fields, and a
print stream — one row per letter with its envelope record — instead of one file per letter.

``outbox/print/<batch id>/``::

    notice.html    the letter as rendered for this policy version, with three merge fields
                   ([[noticeflow:names]], [[noticeflow:address]], [[noticeflow:mailed_on]]);
                   its sha256 is the letters' ``template_sha256``
    manifest.csv   the print stream (mail-merge file): one row per letter, STREAM_COLUMNS
    batch.json     letters, manifest sha256, template sha256, specimen sha256, format
    READY          present once every letter of the batch is recorded: take only these

A letter is ``notice.html`` with its row's envelope merged in (:meth:`LetterTemplate.merge`,
:func:`reproduce_letter`): byte for byte the letter ``PrivacyDocuments.letter`` renders for the
same envelope, whose sha256 the row records (``letter_sha256``). The batch directory is written
under a temporary name (``mkdtemp``: mode 0700) and renamed into place, every file in it mode 0600
and flushed to disk first; the directory stays 0700, so only the worker's user — and the mail
vendor's transfer, running as it — reads the addresses. Until ``READY`` exists a retry may replace
the batch with the same letters; once it exists the batch never changes
(:class:`~activities.delivery.PrintBatchSealedError`).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from markupsafe import escape

from activities.delivery import READY_FILE, BatchOutcome, Outcome, OutcomeStatus, PrintBatchSealedError
from activities.files import replace_directory, safe_name, write_atomically
from models.notice import DeliveryChannelName, FailureKind, PostalAddress

#: The merge fields of ``notice.html``, in the order they appear in a letter.
MERGE_FIELDS = ("names", "address", "mailed_on")
_FIELD = re.compile(r"\[\[noticeflow:(names|address|mailed_on)\]\]")
TEMPLATE_FILE = "notice.html"
STREAM_FILE = "manifest.csv"
STREAM_COLUMNS = (
    "sequence",
    "letter_id",
    "delivery_key",
    "name",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "mailed_on",
    "letter_sha256",
    "template_sha256",
    "specimen_sha256",
)
FILE_MODE = 0o600


def merge_field(name: str) -> str:
    """The placeholder of a merge field in ``notice.html``."""
    if name not in MERGE_FIELDS:
        raise KeyError(name)
    return f"[[noticeflow:{name}]]"


@functools.lru_cache(maxsize=64)
def mailed_on_text(day: dt.date) -> str:
    """The date line of a letter ("July 1, 2025"), as the ``date`` template filter writes it."""
    return f"{day:%B} {day.day}, {day:%Y}"


@dataclass(frozen=True)
class LetterTemplate:
    """A letter rendered once with merge fields in place of the envelope part."""

    html: str
    sha256: str
    #: The text around the fields: ``parts[0] field parts[1] field … parts[-1]``.
    parts: tuple[str, ...]
    fields: tuple[str, ...]

    @classmethod
    def from_html(cls, html: str) -> LetterTemplate:
        pieces = _FIELD.split(html)
        parts, fields = tuple(pieces[0::2]), tuple(pieces[1::2])
        if sorted(fields) != sorted(MERGE_FIELDS):
            raise ValueError(f"a letter template holds each merge field once, found {fields}")
        return cls(html=html, sha256=hashlib.sha256(html.encode("utf-8")).hexdigest(), parts=parts, fields=fields)

    def merge(self, name: str, address_lines: Sequence[str], mailed_on: dt.date) -> str:
        """The letter to one envelope: values escaped exactly as the letter template escapes them
        (names joined with " and " before, address lines joined with ``<br>``)."""
        values = {
            "names": str(escape(name)),
            "address": "<br>".join(str(escape(line)) for line in address_lines),
            "mailed_on": str(escape(mailed_on_text(mailed_on))),
        }
        out = [self.parts[0]]
        for field, after in zip(self.fields, self.parts[1:], strict=True):
            out.append(values[field])
            out.append(after)
        return "".join(out)


@dataclass(frozen=True)
class StreamLetter:
    """One letter of a print stream: its delivery key and envelope record (no letter body)."""

    delivery_key: str
    name: str
    postal_address: PostalAddress | None
    mailed_on: dt.date


@functools.lru_cache(maxsize=64)
def _iso_day(day: dt.date) -> str:
    return day.isoformat()


def row_address(row: dict[str, str]) -> PostalAddress:
    """The envelope address of a stream row."""
    return PostalAddress(
        line1=row["address_line1"], line2=row["address_line2"] or None, city=row["city"], region=row["region"],
        postal_code=row["postal_code"], country=row["country"],
    )


def read_stream(batch_dir: Path) -> list[dict[str, str]]:
    with open(batch_dir / STREAM_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def reproduce_letter(batch_dir: Path, row: dict[str, str]) -> bytes:
    """A letter of a batch, from the batch's ``notice.html`` and the row's envelope record. Refuses
    a template that is not the one the row names."""
    html = (batch_dir / TEMPLATE_FILE).read_bytes().decode("utf-8")  # as written: no newline translation
    template = LetterTemplate.from_html(html)
    if template.sha256 != row["template_sha256"]:
        raise ValueError(f"{batch_dir / TEMPLATE_FILE} is not template {row['template_sha256']}")
    letter = template.merge(row["name"], row_address(row).lines(), dt.date.fromisoformat(row["mailed_on"]))
    return letter.encode("utf-8")


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


class PrintStream:
    """One batch's print stream, built letter by letter in memory (no NPI leaves the process
    until :meth:`PrintStreamChannel.write` puts it in the batch directory)."""

    def __init__(self, batch_id: str, template: LetterTemplate, specimen_sha256: str) -> None:
        self.batch_id, self.template, self.specimen_sha256 = batch_id, template, specimen_sha256
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._writer.writerow(STREAM_COLUMNS)
        self._prefix = safe_name(batch_id)
        self.sent_at = datetime.now(UTC)
        self.letters = 0
        #: delivery key → the sha256 of its letter; delivery key → why it has none.
        self.digests: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self._order: list[str] = []

    def add(self, delivery_key: str, name: str, postal_address: PostalAddress | None, mailed_on: dt.date) -> str | None:
        """One letter's row (its envelope record and the sha256 of the letter it makes); None, and
        no row, for an envelope without a postal address."""
        self._order.append(delivery_key)
        if postal_address is None:
            self.refused[delivery_key] = "no postal address"
            return None
        self.letters = seq = self.letters + 1
        a = postal_address
        digest = hashlib.sha256(self.template.merge(name, a.lines(), mailed_on).encode("utf-8")).hexdigest()
        self._writer.writerow(
            (seq, f"{self._prefix}-{seq:06d}", delivery_key, name, a.line1, a.line2 or "", a.city, a.region, a.postal_code,
             a.country, _iso_day(mailed_on), digest, self.template.sha256, self.specimen_sha256)
        )
        self.digests[delivery_key] = digest
        return digest

    def outcomes(self) -> list[Outcome]:
        """One outcome per letter added, in order: sent (with its letter's sha256) or failed (no address)."""
        return [
            Outcome(k, OutcomeStatus.SENT, document_sha256=self.digests[k], sent_at=self.sent_at) if k in self.digests
            else Outcome(k, OutcomeStatus.FAILED, FailureKind.NO_CONTACT, self.refused[k])
            for k in self._order
        ]

    def manifest(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8")


class PrintStreamChannel:
    """``outbox/print/<batch id>/`` as a print stream: ``notice.html``, ``manifest.csv``,
    ``batch.json`` and, once sealed, ``READY``. One call writes one batch, whole or not at all."""

    name: ClassVar[DeliveryChannelName] = "postal"
    replaces_batches: ClassVar[bool] = True

    def __init__(self, outbox_dir: Path) -> None:
        self.root = outbox_dir / "print"
        self.outbox_dir = outbox_dir

    def write_batch(self, stream: PrintStream) -> str:
        """Blocking :meth:`write`."""
        batch_id, template = stream.batch_id, stream.template
        final = self.root / safe_name(batch_id)
        manifest = stream.manifest()
        manifest_sha256 = hashlib.sha256(manifest).hexdigest()
        existing = final / STREAM_FILE
        if existing.exists() and existing.read_bytes() == manifest:
            pass  # the same batch is already in place (sealed or not)
        elif (final / READY_FILE).exists():
            raise PrintBatchSealedError(
                f"print batch {batch_id} is sealed for the mail vendor and cannot change; its letters are recorded as sent"
            )
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{final.name}."))  # 0700
            try:
                _write_file(staging / TEMPLATE_FILE, template.html.encode("utf-8"))
                _write_file(staging / STREAM_FILE, manifest)
                summary = {
                    "batch_id": batch_id,
                    "letters": stream.letters,
                    "manifest_sha256": manifest_sha256,
                    "template_sha256": template.sha256,
                    "specimen_sha256": [stream.specimen_sha256],
                    "format": "print stream: notice.html (print-ready HTML, US Letter, address block for a window envelope) "
                    "merged with each row of manifest.csv; merge fields " + ", ".join(merge_field(f) for f in MERGE_FIELDS),
                }
                _write_file(staging / "batch.json", (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8"))
                dir_fd = os.open(staging, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
                replace_directory(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return manifest_sha256

    async def write(self, stream: PrintStream) -> str:
        """Put ``stream`` in the outbox as its batch directory (replacing an unsealed one); returns
        the sha256 of its ``manifest.csv``."""
        return await asyncio.to_thread(self.write_batch, stream)

    async def deliver(self, batch_id: str, template: LetterTemplate, letters: Sequence[StreamLetter], specimen_sha256: str) -> BatchOutcome:
        """Build the stream of ``letters`` and write it (one call, one batch)."""

        def build_and_write() -> BatchOutcome:
            stream = PrintStream(batch_id, template, specimen_sha256)
            for letter in letters:
                stream.add(letter.delivery_key, letter.name, letter.postal_address, letter.mailed_on)
            manifest_sha256 = self.write_batch(stream)
            location = str((self.root / safe_name(batch_id) / STREAM_FILE).relative_to(self.outbox_dir))
            return BatchOutcome(stream.outcomes(), location=location, manifest_sha256=manifest_sha256)

        return await asyncio.to_thread(build_and_write)

    def seal_batch(self, batch_id: str) -> bool:
        """Blocking :meth:`seal`."""
        final = self.root / safe_name(batch_id)
        manifest = final / STREAM_FILE
        if not manifest.exists():
            return False
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        write_atomically(final / READY_FILE, f"{STREAM_FILE} sha256 {digest}\n".encode("ascii"), mode=FILE_MODE)
        return True

    def _sealed_manifest(self, batch_id: str) -> str | None:
        ready = self.root / safe_name(batch_id) / READY_FILE
        try:
            return ready.read_text("ascii").split()[-1]
        except (OSError, IndexError):
            return None

    async def manifest_sha256(self, batch_id: str) -> str | None:
        """The manifest sha256 of a sealed batch still in the outbox (None once the vendor took it)."""
        return await asyncio.to_thread(self._sealed_manifest, batch_id)

    async def seal(self, batch_id: str) -> bool:
        """Mark a batch whose letters are all recorded as ready for the mail vendor: from then on it
        never changes. The vendor takes only directories holding ``READY``."""
        return await asyncio.to_thread(self.seal_batch, batch_id)


__all__ = [
    "MERGE_FIELDS",
    "STREAM_COLUMNS",
    "LetterTemplate",
    "PrintStream",
    "PrintStreamChannel",
    "StreamLetter",
    "mailed_on_text",
    "merge_field",
    "read_stream",
    "reproduce_letter",
    "row_address",
]
