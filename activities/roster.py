"""The consumer roster: who is to be notified, and how to reach them.

The incident API uploads a roster (JSON list or CSV of :class:`~models.notice.RosterUploadRow`)
under a ``roster_id``; the licensee's own consumer id is replaced by ``npi_digest(id, key)``
(the ``consumer_ref``) before anything is stored, and only that digest leaves this module.

Contact data — the name, e-mail and postal address, and every other field of a
:class:`~models.notice.ConsumerContact` but the four below — is sealed before it is first written
(``activities/contact_store.py``), under the incident's data key, bound to its incident, roster
and consumer: no plaintext of it ever reaches the database. In the clear stay only what the
queries need and what identifies no one: ``consumer_ref`` (a keyed digest), the state of
residence (which law, which obligation), electronic consent and the producer of record's id.
The delivery activities open contacts here and nowhere else; once the incident's retention
ended and its data key was destroyed (``activities/contact_retention.py``), opening raises
:class:`~activities.contact_store.DataKeyDestroyedError`, while summaries and counts still read.

A re-upload under the same ``roster_id`` replaces the roster atomically: rows are staged under a
new generation, then one short transaction makes that generation current. Readers always see one
whole generation. The same rows uploaded again change nothing. An upload that fails leaves
nothing behind: its rows, a roster header it created, and a data key it created are removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, Index, delete, func, select, update
from sqlmodel import Field, SQLModel

from activities import db
from activities.contact_store import ContactStore, DataKey, contact_json
from ledger.npi import npi_digest
from models.notice import (
    ConsumerContact,
    RosterSummary,
    RosterUploadRow,
    StateRosterCounts,
)
from config.settings import Settings

log = structlog.get_logger("noticeflow.roster")

#: Old generations are deleted in chunks of this many rows, so no transaction holds the lock long.
DELETE_CHUNK = 5000
#: The fields of a contact kept in the clear (see the module's docstring); every other is sealed.
PLAIN_FIELDS = frozenset({"consumer_ref", "state", "electronic_consent", "producer_of_record"})
#: Row errors reported for one upload (the rest are counted).
UploadRow = TypeVar("UploadRow", bound=BaseModel)
MAX_REPORTED_ROWS = 20
#: The columns of an upload.
COLUMNS = tuple(RosterUploadRow.model_fields)
REQUIRED_COLUMNS = tuple(name for name, f in RosterUploadRow.model_fields.items() if f.is_required())
#: A roster id of the API's form names its incident.
_API_ROSTER_ID = re.compile(r"^(?P<incident>.+)-r[0-9]+$")
_TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class RosterError(ValueError):
    """A roster cannot be stored or read as asked."""


class RosterNotFoundError(RosterError):
    pass


class RosterUploadError(RosterError):
    """The upload does not validate (API 422). ``errors`` names each problem's field:
    ``rows[<n>].<column>`` (n = 1 for the first data row), ``columns.<name>``, or ``body``."""

    def __init__(self, message: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [{"field": "body", "message": message, "type": "roster_invalid"}]


class RosterEncodingError(RosterUploadError):
    """The upload is not UTF-8."""


class RosterMediaTypeError(RosterError):
    """Neither JSON nor CSV, or a character set other than UTF-8 (API 415)."""


class RosterTooLargeError(RosterError):
    """More rows or bytes than the settings allow (API 413)."""


class RosterRow(SQLModel, table=True):
    __tablename__ = "notice_rosters"

    roster_id: str = Field(primary_key=True)
    incident_id: str = Field(description="The event whose data key seals the roster's contacts.")
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
    electronic_consent: bool = False
    producer_of_record: str | None = None
    data_key_id: str = Field(description="The incident's data key (contact_data_keys) that sealed `contact`.")
    contact: str = Field(description="base64(nonce || AES-256-GCM(JSON of name, email, postal_address, …)).")


_ROSTERS = RosterRow.__table__
_CONTACTS = RosterContactRow.__table__
TABLES = (_ROSTERS, _CONTACTS)


def incident_of(roster_id: str) -> str:
    """The incident of a roster id of the API's form ``<incident_id>-r<n>``; any other roster id
    is its own incident (give ``incident_id`` to :meth:`RosterStore.store_roster` instead)."""
    match = _API_ROSTER_ID.match(roster_id)
    return match.group("incident") if match else roster_id


def contact_binding(incident_id: str, roster_id: str, consumer_ref: str) -> str:
    """What a sealed contact is bound to (associated data): its table, incident, roster, consumer, field."""
    return f"notice_roster_contacts|{incident_id}|{roster_id}|{consumer_ref}|contact"


# -- upload parsing ---------------------------------------------------------------------------


def _row_problems(number: int, exc: ValidationError, columns: Sequence[str]) -> list[dict[str, str]]:
    # The values themselves are PII: name the row and the field, never echo the input.
    problems = []
    for err in exc.errors(include_input=False):
        column = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append({"field": f"rows[{number}].{column}", "type": "unknown_column",
                             "message": f"unknown column {column!r}: the columns are {', '.join(columns)}"})
        else:
            problems.append({"field": f"rows[{number}].{column}" if column else f"rows[{number}]",
                             "message": err["msg"].removeprefix("Value error, "), "type": err["type"]})
    return problems


def _rows_error(problems: list[dict[str, str]], more: int, noun: str) -> RosterUploadError:
    by_row: dict[str, list[str]] = {}
    for p in problems:
        row, _, column = p["field"].partition("].")
        by_row.setdefault(row, []).append(f"{column or 'row'}: {p['message']}")
    text = "; ".join(f"{noun} row {row[len('rows['):].rstrip(']')}: " + "; ".join(items) for row, items in by_row.items())
    if more:
        text += f" (and {more} more rows with errors)"
    return RosterUploadError(text, errors=problems)


def media_type_of(content_type: str) -> str:
    """``application/json`` or ``text/csv`` from a Content-Type header; :class:`RosterMediaTypeError`
    for anything else, or for a declared character set other than UTF-8."""
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    kind = {"json": "application/json", "csv": "text/csv"}.get(kind, kind)
    if kind not in ("application/json", "text/csv"):
        raise RosterMediaTypeError(
            f"a roster is uploaded as application/json (a list of objects) or text/csv (a header row), not {kind or 'no media type'!r}"
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _TEXT_CHARSETS:
            raise RosterMediaTypeError(f"a roster is sent as UTF-8, not charset={charset!r}: export the file as UTF-8 (CSV UTF-8)")
    return kind


def decode_upload(data: bytes, noun: str = "roster") -> str:
    """The upload as text; :class:`RosterEncodingError` naming where and why it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        try:
            data.decode("cp1252")
            guess = "; it reads as Windows-1252 (Latin-1), which is what spreadsheet programs often save"
        except UnicodeDecodeError:
            guess = ""
        message = (
            f"the {noun} is not UTF-8: byte 0x{data[exc.start]:02X} at line {line}, column {column} is not valid UTF-8 "
            f"({exc.reason}){guess}; export the file as UTF-8 (CSV UTF-8) and upload it again"
        )
        raise RosterEncodingError(message, errors=[{"field": "body", "message": message, "type": "encoding"}]) from None


def _too_many(max_rows: int, noun: str) -> RosterTooLargeError:
    return RosterTooLargeError(
        f"the {noun} has more than {max_rows} rows (NOTICEFLOW_ROSTER_MAX_ROWS): split it, or raise the limit"
    )


def _csv_records(text: str, max_rows: int | None, columns: Sequence[str], required: Sequence[str], noun: str) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in columns]
    missing = [c for c in required if c not in header]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = [
        {"field": f"columns.{c}", "type": "unknown_column", "message": f"unknown column {c!r}: the columns are {', '.join(columns)}"}
        for c in unknown
    ]
    problems += [{"field": f"columns.{c}", "type": "missing_column", "message": f"column {c!r} is required"} for c in missing]
    problems += [{"field": f"columns.{c}", "type": "duplicate_column", "message": f"column {c!r} appears twice"} for c in duplicated]
    if problems:
        raise RosterUploadError(
            f"the CSV header is not a {noun}'s: " + "; ".join(p["message"] for p in problems)
            + f" (a header row with at least {', '.join(required)})",
            errors=problems,
        )
    for number, record in enumerate(reader, start=1):
        if max_rows is not None and number > max_rows:
            raise _too_many(max_rows, noun)
        if None in record:
            message = "more values than the header has columns"
            raise RosterUploadError(f"{noun} row {number}: {message}",
                                    errors=[{"field": f"rows[{number}]", "message": message, "type": "too_many_values"}])
        yield record


def parse_upload(data: bytes | str, media_type: str, *, max_rows: int | None = None) -> list[RosterUploadRow]:
    """A roster: a JSON list of objects (``application/json``) or a CSV with a header row (``text/csv``)."""
    return parse_rows(data, media_type, RosterUploadRow, required=REQUIRED_COLUMNS, noun="roster", max_rows=max_rows)


def parse_rows(
    data: bytes | str, media_type: str, model: type[UploadRow], *, required: Sequence[str], noun: str, max_rows: int | None = None
) -> list[UploadRow]:
    """The rows of an upload of ``model`` rows (a roster, a relationship upload): a JSON list of
    objects or a CSV whose header holds ``required``. Errors name the row (1 = first data row) and
    field, never the value; at most ``MAX_REPORTED_ROWS`` rows' errors are listed. More than
    ``max_rows`` rows: :class:`RosterTooLargeError`; not UTF-8: :class:`RosterEncodingError`."""
    columns = tuple(model.model_fields)
    kind = media_type_of(media_type)
    text = decode_upload(data, noun) if isinstance(data, bytes) else data
    records: Iterable[Any]
    if kind == "application/json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RosterUploadError(f"the {noun} is not valid JSON: {exc.msg} at line {exc.lineno}",
                                    errors=[{"field": "body", "message": f"not valid JSON: {exc.msg} at line {exc.lineno}",
                                             "type": "json_invalid"}]) from None
        if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
            message = f"a JSON {noun} is a list of objects, one per consumer"
            raise RosterUploadError(message, errors=[{"field": "body", "message": message, "type": "list_type"}])
        if max_rows is not None and len(parsed) > max_rows:
            raise _too_many(max_rows, noun)
        records = parsed
    else:
        records = _csv_records(text, max_rows, columns, required, noun)
    rows: list[UploadRow] = []
    problems: list[dict[str, str]] = []
    bad_rows = 0
    for number, record in enumerate(records, start=1):
        try:
            rows.append(model.model_validate(record))
        except ValidationError as exc:
            bad_rows += 1
            if bad_rows <= MAX_REPORTED_ROWS:
                problems += _row_problems(number, exc, columns)
    if problems:
        raise _rows_error(problems, bad_rows - MAX_REPORTED_ROWS if bad_rows > MAX_REPORTED_ROWS else 0, noun)
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


def _to_row(incident_id: str, roster_id: str, generation: int, contact: ConsumerContact, key: DataKey) -> dict[str, Any]:
    sealed = contact.model_dump(mode="json", exclude=set(PLAIN_FIELDS))
    return {
        "roster_id": roster_id,
        "generation": generation,
        "consumer_ref": contact.consumer_ref,
        "state": contact.state,
        "electronic_consent": contact.electronic_consent,
        "producer_of_record": contact.producer_of_record,
        "data_key_id": key.key_id,
        "contact": key.seal(contact_binding(incident_id, roster_id, contact.consumer_ref), contact_json(sealed)),
    }


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
    """Rosters in the ledger's database, contacts sealed by ``contacts``. Blocking: call from a
    worker thread in activities."""

    def __init__(self, engine: Engine, contacts: ContactStore) -> None:
        self.engine = engine
        self.contacts = contacts
        db.ensure_tables(engine, TABLES)

    @classmethod
    def for_settings(cls, engine: Engine, settings: Settings) -> RosterStore:
        """The store over ``engine``, sealing under the contact KEK of ``settings``."""
        return cls(engine, ContactStore.for_settings(engine, settings))

    def store_roster(
        self,
        roster_id: str,
        contacts: Iterable[ConsumerContact],
        *,
        incident_id: str | None = None,
        chunk: int = db.INSERT_CHUNK,
    ) -> RosterSummary:
        """Store (or replace) the roster ``roster_id`` of ``incident_id`` (default: named by the
        roster id, ``incident_of``); idempotent for the same rows in the same order. Each contact
        is sealed under the incident's data key before it is written."""
        incident = incident_id or incident_of(roster_id)
        key = self.contacts.data_key(f"incident:{incident}")
        try:
            generation, fresh = self._allocate_generation(roster_id, incident)
        except BaseException:
            self._discard_key(key)
            raise
        digest = hashlib.sha256()
        counts: dict[str, dict[str, int]] = {}
        seen: set[str] = set()
        total = 0
        pending: list[dict[str, Any]] = []
        try:
            for number, contact in enumerate(contacts, start=1):
                if contact.consumer_ref in seen:
                    message = "the same consumer appears twice on the roster"
                    raise RosterUploadError(
                        f"roster row {number}: {message}",
                        errors=[{"field": f"rows[{number}].consumer_id", "message": message, "type": "duplicate_consumer"}],
                    )
                seen.add(contact.consumer_ref)
                digest.update(contact.model_dump_json().encode("utf-8") + b"\n")
                _count(counts, contact)
                total += 1
                pending.append(_to_row(incident, roster_id, generation, contact, key))
                if len(pending) >= chunk:
                    self._insert(pending, key)
                    pending = []
            self._insert(pending, key)
        except BaseException:
            # Nothing of a failed upload stays: its rows, the header it created (so the next upload
            # gets the same roster number), the data key it created.
            self._drop_generation(roster_id, generation)
            if fresh:
                self._drop_unfinished_header(roster_id)
            self._discard_key(key)
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

    def _allocate_generation(self, roster_id: str, incident_id: str) -> tuple[int, bool]:
        """The generation this upload stages, and whether it created the roster's header row."""
        with db.write(self.engine) as conn:
            row = conn.execute(
                select(_ROSTERS.c.next_generation, _ROSTERS.c.incident_id).where(_ROSTERS.c.roster_id == roster_id)
            ).first()
            if row is None:
                conn.execute(
                    _ROSTERS.insert().values(
                        roster_id=roster_id, incident_id=incident_id, generation=0, next_generation=2, total=0,
                        content_sha256="", summary="{}",
                    )
                )
                return 1, True
            if row.incident_id != incident_id:
                raise RosterUploadError(f"roster {roster_id} belongs to incident {row.incident_id}, not {incident_id}")
            conn.execute(
                update(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id).values(next_generation=row.next_generation + 1)
            )
            return int(row.next_generation), False

    def _insert(self, rows: list[dict[str, Any]], key: DataKey) -> None:
        if rows:
            with db.write(self.engine) as conn:
                # The key is live and stays so until this commits (no destruction slips in between).
                self.contacts.pin(conn, [key.key_id])
                conn.execute(_CONTACTS.insert(), rows)

    def _drop_unfinished_header(self, roster_id: str) -> None:
        """Remove the header of a roster whose first upload failed, unless another upload of it
        went on meanwhile."""
        with db.write(self.engine) as conn:
            conn.execute(
                delete(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id, _ROSTERS.c.generation == 0, _ROSTERS.c.next_generation == 2)
            )

    def _discard_key(self, key: DataKey) -> None:
        if key.created:
            self.contacts.discard_unused(key.key_id, [_CONTACTS.c.data_key_id])

    def discard_roster(self, roster_id: str) -> None:
        """Remove a roster that was never used (the workflow refused it): contacts, header, and the
        incident's data key if this roster alone used it."""
        with db.read(self.engine) as conn:
            keys = set(conn.execute(select(_CONTACTS.c.data_key_id).where(_CONTACTS.c.roster_id == roster_id).distinct()).scalars())
        self._delete_where(_CONTACTS.c.roster_id == roster_id)
        with db.write(self.engine) as conn:
            conn.execute(delete(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id))
        for key_id in keys:
            self.contacts.discard_unused(key_id, [_CONTACTS.c.data_key_id])

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
        return self._header(roster_id).generation

    def _header(self, roster_id: str) -> Any:
        with db.read(self.engine) as conn:
            row = conn.execute(select(_ROSTERS).where(_ROSTERS.c.roster_id == roster_id)).first()
        if row is None or row.generation == 0:
            raise RosterNotFoundError(f"no roster {roster_id!r} has been uploaded; upload the consumer list first")
        return row

    def _open(self, header: Any, rows: Sequence[Any]) -> list[ConsumerContact]:
        """Open sealed rows: :class:`DataKeyDestroyedError` once the incident's data key is destroyed."""
        if not rows:
            return []
        keys = self.contacts.keys_for({r.data_key_id for r in rows})
        out = []
        for r in rows:
            sealed = json.loads(keys[r.data_key_id].open(contact_binding(header.incident_id, header.roster_id, r.consumer_ref), r.contact))
            out.append(
                ConsumerContact(
                    consumer_ref=r.consumer_ref, state=r.state, electronic_consent=bool(r.electronic_consent),
                    producer_of_record=r.producer_of_record, **sealed,
                )
            )
        return out

    # -- reading ----------------------------------------------------------------------------------

    def roster_summary(self, roster_id: str) -> RosterSummary:
        row = self._header(roster_id)
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
        header = self._header(roster_id)
        where = [
            _CONTACTS.c.roster_id == roster_id,
            _CONTACTS.c.generation == header.generation,
            _CONTACTS.c.state == state,
        ]
        if after is not None:
            where.append(_CONTACTS.c.consumer_ref > after)
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_CONTACTS).where(*where).order_by(_CONTACTS.c.consumer_ref).limit(limit)).all()
        return self._open(header, rows)

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
        header = self._header(roster_id)
        found: dict[str, ConsumerContact] = {}
        with db.read(self.engine) as conn:
            for start in range(0, len(refs), 500):
                rows = conn.execute(
                    select(_CONTACTS).where(
                        _CONTACTS.c.roster_id == roster_id,
                        _CONTACTS.c.generation == header.generation,
                        _CONTACTS.c.consumer_ref.in_(list(refs[start : start + 500])),
                    )
                ).all()
                found.update((c.consumer_ref, c) for c in self._open(header, rows))
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
