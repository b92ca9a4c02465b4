"""The consumer roster: who is to be notified, and how to reach them — the one place PII is kept.

The incident API uploads a roster (JSON list or CSV of :class:`~models.notice.RosterUploadRow`)
under a ``roster_id``; the licensee's own consumer id is replaced by ``npi_digest(id, key)``
(the ``consumer_ref``) before anything is stored, and only that digest leaves this module.
Names, e-mail and postal addresses are read here by the delivery activities and nowhere else.

A re-upload under the same ``roster_id`` replaces the roster atomically: rows are staged under a
new generation, then one short transaction makes that generation current. Readers always see one
whole generation. The same rows uploaded again change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Engine, Index, delete, func, select, update
from sqlmodel import Field, SQLModel

from activities import db
from ledger.npi import npi_digest
from models.notice import ConsumerContact, PostalAddress, RosterSummary, RosterUploadRow, StateRosterCounts

log = structlog.get_logger("noticeflow.roster")

#: Old generations are deleted in chunks of this many rows, so no transaction holds the lock long.
DELETE_CHUNK = 5000


class RosterError(ValueError):
    """A roster cannot be stored or read as asked."""


class RosterNotFoundError(RosterError):
    pass


class RosterUploadError(RosterError):
    pass


class RosterRow(SQLModel, table=True):
    __tablename__ = "notice_rosters"

    roster_id: str = Field(primary_key=True)
    generation: int = Field(description="The current generation; 0 until a first upload completes.")
    next_generation: int
    total: int
    content_sha256: str
    summary: str  # JSON of RosterSummary.by_state


class RosterContactRow(SQLModel, table=True):
    __tablename__ = "notice_roster_contacts"
    __table_args__ = (Index("ix_notice_roster_contacts_state", "roster_id", "generation", "state", "consumer_ref"),)

    roster_id: str = Field(primary_key=True)
    generation: int = Field(primary_key=True)
    consumer_ref: str = Field(primary_key=True)
    state: str
    name: str
    email: str | None = None
    postal_address: str | None = None  # JSON of PostalAddress
    electronic_consent: bool = False
    producer_of_record: str | None = None


_ROSTERS = RosterRow.__table__
_CONTACTS = RosterContactRow.__table__
TABLES = (_ROSTERS, _CONTACTS)


# -- upload parsing ---------------------------------------------------------------------------


def _row_error(number: int, exc: ValidationError) -> RosterUploadError:
    # The values themselves are PII: name the row and the field, never echo the input.
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors(include_input=False)
    )
    return RosterUploadError(f"roster row {number}: {problems}")


def parse_upload(data: bytes | str, media_type: str) -> list[RosterUploadRow]:
    """Read a JSON list of objects (``application/json``) or a CSV with a header row (``text/csv``).
    Errors name the row (1 = first data row) and field, never the value."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    kind = media_type.split(";", 1)[0].strip().lower()
    records: list[Any]
    if kind in ("application/json", "json"):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RosterUploadError(f"roster is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(records, list):
            raise RosterUploadError("a JSON roster is a list of objects, one per consumer")
    elif kind in ("text/csv", "csv"):
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "consumer_id" not in reader.fieldnames:
            raise RosterUploadError("a CSV roster needs a header row with at least consumer_id, state, name")
        records = list(reader)
    else:
        raise RosterUploadError(f"unsupported roster media type {media_type!r}: use application/json or text/csv")
    rows: list[RosterUploadRow] = []
    for number, record in enumerate(records, start=1):
        try:
            rows.append(RosterUploadRow.model_validate(record))
        except ValidationError as exc:
            raise _row_error(number, exc) from None
    return rows


def contacts_from_upload(rows: Iterable[RosterUploadRow], key: bytes) -> Iterator[ConsumerContact]:
    """Replace each consumer id by its digest; the id itself goes no further."""
    for row in rows:
        yield ConsumerContact(
            consumer_ref=npi_digest(row.consumer_id, key),
            state=row.state,
            name=row.name,
            email=row.email,
            postal_address=row.postal_address(),
            electronic_consent=row.electronic_consent,
            producer_of_record=row.producer_of_record,
        )


# -- the store ------------------------------------------------------------------------------------


def _to_row(roster_id: str, generation: int, contact: ConsumerContact) -> dict[str, Any]:
    return {
        "roster_id": roster_id,
        "generation": generation,
        "consumer_ref": contact.consumer_ref,
        "state": contact.state,
        "name": contact.name,
        "email": contact.email,
        "postal_address": contact.postal_address.model_dump_json() if contact.postal_address else None,
        "electronic_consent": contact.electronic_consent,
        "producer_of_record": contact.producer_of_record,
    }


def _from_row(row: Any) -> ConsumerContact:
    return ConsumerContact(
        consumer_ref=row.consumer_ref,
        state=row.state,
        name=row.name,
        email=row.email,
        postal_address=PostalAddress.model_validate_json(row.postal_address) if row.postal_address else None,
        electronic_consent=bool(row.electronic_consent),
        producer_of_record=row.producer_of_record,
    )


def _count(counts: dict[str, dict[str, int]], contact: ConsumerContact) -> None:
    c = counts.setdefault(contact.state, dict.fromkeys(StateRosterCounts.model_fields, 0))
    c["consumers"] += 1
    has_email, has_postal = contact.email is not None, contact.postal_address is not None
    c["with_email"] += has_email
    c["electronic"] += has_email and contact.electronic_consent
    c["with_postal_address"] += has_postal
    c["postal_only"] += has_postal and not has_email
    c["without_contact"] += not (has_email or has_postal)


class RosterStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        db.ensure_tables(engine, TABLES)

    def store_roster(self, roster_id: str, contacts: Iterable[ConsumerContact], *, chunk: int = db.INSERT_CHUNK) -> RosterSummary:
        """Store (or replace) the roster ``roster_id``; idempotent for the same rows in the same order."""
        generation = self._allocate_generation(roster_id)
        digest = hashlib.sha256()
        counts: dict[str, dict[str, int]] = {}
        seen: set[str] = set()
        total = 0
        pending: list[dict[str, Any]] = []
        try:
            for number, contact in enumerate(contacts, start=1):
                if contact.consumer_ref in seen:
                    raise RosterUploadError(f"roster row {number}: the same consumer appears twice on the roster")
                seen.add(contact.consumer_ref)
                digest.update(contact.model_dump_json().encode("utf-8") + b"\n")
                _count(counts, contact)
                total += 1
                pending.append(_to_row(roster_id, generation, contact))
                if len(pending) >= chunk:
                    self._insert(pending)
                    pending = []
            self._insert(pending)
        except BaseException:
            self._drop_generation(roster_id, generation)
            raise
        by_state = {state: counts[state] for state in sorted(counts)}
        content_sha256 = digest.hexdigest()
        with db.write(self.engine) as conn:
            current = conn.execute(select(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id)).one()
            if current.generation > 0 and current.content_sha256 == content_sha256:
                outcome = "roster_unchanged"
            elif generation > current.generation:
                outcome = "roster_stored"
                conn.execute(
                    update(_ROSTERS)
                    .where(_ROSTERS.c.roster_id == roster_id)
                    .values(generation=generation, total=total, content_sha256=content_sha256, summary=json.dumps(by_state))
                )
            else:
                # A later upload of the same roster became current while this one was staged.
                outcome = "roster_superseded"
        if outcome != "roster_stored":
            self._drop_generation(roster_id, generation)
        self._drop_older(roster_id)
        summary = self.roster_summary(roster_id)
        log.info(outcome, roster_id=roster_id, total=summary.total, generation=summary.generation, states=len(summary.by_state))
        return summary

    def _allocate_generation(self, roster_id: str) -> int:
        with db.write(self.engine) as conn:
            row = conn.execute(select(_ROSTERS.c.next_generation).where(_ROSTERS.c.roster_id == roster_id)).first()
            if row is None:
                conn.execute(
                    _ROSTERS.insert().values(
                        roster_id=roster_id, generation=0, next_generation=2, total=0, content_sha256="", summary="{}"
                    )
                )
                return 1
            conn.execute(
                update(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id).values(next_generation=row.next_generation + 1)
            )
            return int(row.next_generation)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with db.write(self.engine) as conn:
                conn.execute(_CONTACTS.insert(), rows)

    def _drop_generation(self, roster_id: str, generation: int) -> None:
        self._delete_where(
            (_CONTACTS.c.roster_id == roster_id) & (_CONTACTS.c.generation == generation)
        )

    def _drop_older(self, roster_id: str) -> None:
        current = self._current_generation(roster_id)
        self._delete_where((_CONTACTS.c.roster_id == roster_id) & (_CONTACTS.c.generation < current))

    def _delete_where(self, where: Any) -> None:
        while True:
            with db.write(self.engine) as conn:
                refs = conn.execute(
                    select(_CONTACTS.c.generation, _CONTACTS.c.consumer_ref).where(where).limit(DELETE_CHUNK)
                ).all()
                if not refs:
                    return
                for generation in {r.generation for r in refs}:
                    conn.execute(
                        delete(_CONTACTS).where(
                            where,
                            _CONTACTS.c.generation == generation,
                            _CONTACTS.c.consumer_ref.in_([r.consumer_ref for r in refs if r.generation == generation]),
                        )
                    )

    def _current_generation(self, roster_id: str) -> int:
        with db.read(self.engine) as conn:
            row = conn.execute(select(_ROSTERS.c.generation).where(_ROSTERS.c.roster_id == roster_id)).first()
        if row is None or row.generation == 0:
            raise RosterNotFoundError(f"no roster {roster_id!r} has been uploaded; upload the consumer list first")
        return int(row.generation)

    # -- reading ----------------------------------------------------------------------------------

    def roster_summary(self, roster_id: str) -> RosterSummary:
        with db.read(self.engine) as conn:
            row = conn.execute(select(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id)).first()
        if row is None or row.generation == 0:
            raise RosterNotFoundError(f"no roster {roster_id!r} has been uploaded; upload the consumer list first")
        by_state = {state: StateRosterCounts(**c) for state, c in json.loads(row.summary).items()}
        return RosterSummary(
            roster_id=roster_id,
            total=row.total,
            by_state=by_state,
            content_sha256=row.content_sha256,
            generation=row.generation,
        )

    def contacts_page(self, roster_id: str, state: str, after: str | None, limit: int) -> list[ConsumerContact]:
        """Up to ``limit`` contacts residing in ``state``, ordered by consumer_ref, after ``after``.

        The current generation is read on every page, so a roster replaced mid-delivery is
        followed to its new rows, never read from deleted ones.
        """
        generation = self._current_generation(roster_id)
        where = [
            _CONTACTS.c.roster_id == roster_id,
            _CONTACTS.c.generation == generation,
            _CONTACTS.c.state == state,
        ]
        if after is not None:
            where.append(_CONTACTS.c.consumer_ref > after)
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_CONTACTS).where(*where).order_by(_CONTACTS.c.consumer_ref).limit(limit)).all()
        return [_from_row(r) for r in rows]

    def iter_contacts(self, roster_id: str, state: str, batch: int = 500) -> Iterator[list[ConsumerContact]]:
        """The contacts residing in ``state``, ``batch`` at a time, in consumer_ref order."""
        after: str | None = None
        while True:
            page = self.contacts_page(roster_id, state, after, batch)
            if not page:
                return
            yield page
            after = page[-1].consumer_ref

    def get_contacts(self, roster_id: str, refs: Sequence[str]) -> dict[str, ConsumerContact]:
        generation = self._current_generation(roster_id)
        found: dict[str, ConsumerContact] = {}
        with db.read(self.engine) as conn:
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(_CONTACTS).where(
                        _CONTACTS.c.roster_id == roster_id,
                        _CONTACTS.c.generation == generation,
                        _CONTACTS.c.consumer_ref.in_(list(refs[start : start + 500])),
                    )
                ).all()
                found.update((r.consumer_ref, _from_row(r)) for r in rows)
        return found

    def producer_counts(self, roster_id: str, state: str) -> dict[str | None, int]:
        """Affected consumers residing in ``state`` per producer of record (None: not known)."""
        generation = self._current_generation(roster_id)
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_CONTACTS.c.producer_of_record, func.count())
                .where(
                    _CONTACTS.c.roster_id == roster_id,
                    _CONTACTS.c.generation == generation,
                    _CONTACTS.c.state == state,
                )
                .group_by(_CONTACTS.c.producer_of_record)
            ).all()
        return {r[0]: int(r[1]) for r in rows}

    def producer_counts_by_state(self, roster_id: str, states: Sequence[str]) -> dict[str, dict[str | None, int]]:
        """Affected consumers per state of ``states`` and producer of record (None: not known):
        what one e-mail to a producer owed notice under several states' obligations tells it."""
        generation = self._current_generation(roster_id)
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_CONTACTS.c.state, _CONTACTS.c.producer_of_record, func.count())
                .where(
                    _CONTACTS.c.roster_id == roster_id,
                    _CONTACTS.c.generation == generation,
                    _CONTACTS.c.state.in_(list(states)),
                )
                .group_by(_CONTACTS.c.state, _CONTACTS.c.producer_of_record)
            ).all()
        counts: dict[str, dict[str | None, int]] = {state: {} for state in states}
        for state, producer, count in rows:
            counts[state][producer] = int(count)
        return counts
