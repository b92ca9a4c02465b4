"""Retention of contact data: legal holds, and destroying an event's data key when its retention ends.

A cybersecurity event's closure is ledgered as ``incident.closed`` (stream ``incident:<id>``): its
data says ``retain_until`` — five years from the event, counted from closure
(``rules.lifecycle.retain_until``) — and its citation is the domicile's retention rule. The
retention sweep (:meth:`ContactRetention.sweep`; ``noticeflow contacts shred-expired``, run daily)
takes every incident whose data key is still live, reads that closure entry, and once
``retain_until`` has passed destroys the incident's data key (``activities/contact_store.py``):
the event's rosters stay as sealed rows and counts, the ledger keeps verifying, and no one can
read a name or an address of them again.

A **legal hold** blocks destruction while it is on: set and lifted by an administrator with the
matter's reference (``noticeflow contacts hold set|lift INCIDENT --matter REF``). A held event
past its retention is recorded once per hold (``contacts.destruction_held``, with the matters),
then skipped by every sweep until the last hold is lifted.

Every act is ledgered in the stream ``admin:retention`` before it takes effect — an administrative
act on the licensee's records, not a step of the event's lifecycle, whose stream the event's
workflow writes; each entry names the incident:

=============================  ============================================  =====================================
type                           step                                          data
=============================  ============================================  =====================================
``contacts.legal_hold_set``    ``retention/hold/<hold_id>/set``              incident_id, scope, matter, hold_id
``contacts.legal_hold_lifted`` ``retention/hold/<hold_id>/lifted``           incident_id, scope, matter, hold_id
``contacts.destruction_held``  ``retention/<data_key_id>/held/<hold_id>``    incident_id, data_key_id, retain_until, matters
``contacts.data_key_destroyed`` ``retention/<data_key_id>/destroyed``        incident_id, data_key_id, kek_id, destroyed_at,
                                                                             retain_until, closure (seq, hash), rosters, contacts
=============================  ============================================  =====================================

A destruction entry cites the closure's retention citation; none carries key material.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Engine, Index, func, select, update
from sqlmodel import Field, SQLModel

from activities import db
from activities.contact_store import ContactStore, DataKeyInfo
from activities.roster import RosterContactRow
from ledger.store import Ledger, LedgerEntryRow, LedgerStreamTipRow
from models.ledger import EntryDraft

log = structlog.get_logger("noticeflow.contact_retention")

RETENTION_STREAM = "admin:retention"
SWEEP_ACTOR = "worker:retention-sweep"
INCIDENT_SCOPE = "incident:"
CLOSURE_TYPE = "incident.closed"
_MATTER = re.compile(r"^[\x20-\x7e]{1,200}$")


class RetentionError(ValueError):
    """A hold or a destruction cannot be done as asked; the message says why."""


class HoldNotFound(RetentionError):
    pass


class LegalHoldRow(SQLModel, table=True):
    __tablename__ = "contact_legal_holds"
    __table_args__ = (Index("ix_contact_legal_holds_scope", "scope", "lifted_at"),)

    hold_id: str = Field(primary_key=True)
    scope: str
    matter: str = Field(description="The matter's reference (docket, claim or counsel's file number).")
    set_at: str
    set_by: str
    lifted_at: str | None = None
    lifted_by: str | None = None


_HOLDS = LegalHoldRow.__table__
_ENTRIES = LedgerEntryRow.__table__
_STREAM_TIPS = LedgerStreamTipRow.__table__
_ROSTER_CONTACTS = RosterContactRow.__table__
TABLES = (_HOLDS,)


def incident_scope(incident_id: str) -> str:
    return f"{INCIDENT_SCOPE}{incident_id}"


@dataclass(frozen=True)
class LegalHold:
    hold_id: str
    incident_id: str
    matter: str
    set_at: str
    set_by: str
    lifted_at: str | None = None
    lifted_by: str | None = None


@dataclass(frozen=True)
class Closure:
    """What the event's closure entry says of its retention."""

    incident_id: str
    retain_until: dt.datetime
    citation: str
    seq: int
    hash: str


@dataclass
class SweepResult:
    destroyed: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    #: Closed, retention not yet over.
    not_due: int = 0
    #: No closure recorded (open, or determined not to be an event — no retention date is known).
    not_closed: int = 0

    def lines(self) -> list[str]:
        out = [f"destroyed {d['data_key_id']} of {d['incident_id']} (retained until {d['retain_until']}; {d['citation']})"
               for d in self.destroyed]
        out += [f"held {h['incident_id']} (retained until {h['retain_until']}): legal hold {', '.join(h['matters'])}"
                for h in self.held]
        out.append(f"{len(self.destroyed)} destroyed, {len(self.held)} held, {self.not_due} not yet due, {self.not_closed} not closed")
        return out


def _hold(row: Any) -> LegalHold:
    return LegalHold(row.hold_id, row.scope[len(INCIDENT_SCOPE):], row.matter, row.set_at, row.set_by, row.lifted_at, row.lifted_by)


class ContactRetention:
    """Legal holds and the retention sweep over ``contacts``' data keys, ledgered in ``ledger``.
    Blocking: call from a worker thread."""

    def __init__(self, contacts: ContactStore, ledger: Ledger) -> None:
        self.contacts = contacts
        self.ledger = ledger
        self.engine: Engine = contacts.engine
        db.ensure_tables(self.engine, TABLES)

    # -- legal holds ------------------------------------------------------------------------------

    def set_hold(self, incident_id: str, matter: str, *, by: str, now: dt.datetime | None = None) -> LegalHold:
        """Put the event's contact data on legal hold for ``matter``: ledgered, then in force."""
        matter = self._matter(matter)
        self._known_incident(incident_id)
        scope = incident_scope(incident_id)
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_HOLDS).where(_HOLDS.c.scope == scope, _HOLDS.c.matter == matter)).all()
        if any(r.lifted_at is None for r in rows):
            raise RetentionError(f"incident {incident_id} is already on legal hold for matter {matter!r}")
        digest = hashlib.sha256(f"{scope}\x00{matter}\x00{len(rows) + 1}".encode()).hexdigest()[:16]
        hold_id = f"LH-{digest}"
        self.ledger.append(
            EntryDraft(
                stream=RETENTION_STREAM, type="contacts.legal_hold_set", step=f"retention/hold/{hold_id}/set", actor=by,
                data={"incident_id": incident_id, "scope": scope, "matter": matter, "hold_id": hold_id},
            )
        )
        at = (now or dt.datetime.now(dt.UTC)).isoformat()
        with db.write(self.engine) as conn:
            db.insert_ignore(conn, _HOLDS, [{"hold_id": hold_id, "scope": scope, "matter": matter, "set_at": at, "set_by": by}])
            row = conn.execute(select(_HOLDS).where(_HOLDS.c.hold_id == hold_id)).one()
        log.info("legal_hold_set", incident_id=incident_id, hold_id=hold_id)
        return _hold(row)

    def lift_hold(self, incident_id: str, matter: str, *, by: str, now: dt.datetime | None = None) -> LegalHold:
        """Lift the hold ``matter`` put on the event: ledgered, then lifted."""
        matter = self._matter(matter)
        scope = incident_scope(incident_id)
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(_HOLDS).where(_HOLDS.c.scope == scope, _HOLDS.c.matter == matter, _HOLDS.c.lifted_at.is_(None))
            ).first()
        if row is None:
            raise HoldNotFound(f"incident {incident_id} is not on legal hold for matter {matter!r}")
        self.ledger.append(
            EntryDraft(
                stream=RETENTION_STREAM, type="contacts.legal_hold_lifted", step=f"retention/hold/{row.hold_id}/lifted",
                actor=by, data={"incident_id": incident_id, "scope": scope, "matter": matter, "hold_id": row.hold_id},
            )
        )
        at = (now or dt.datetime.now(dt.UTC)).isoformat()
        with db.write(self.engine) as conn:
            conn.execute(
                update(_HOLDS).where(_HOLDS.c.hold_id == row.hold_id, _HOLDS.c.lifted_at.is_(None)).values(lifted_at=at, lifted_by=by)
            )
            lifted = conn.execute(select(_HOLDS).where(_HOLDS.c.hold_id == row.hold_id)).one()
        log.info("legal_hold_lifted", incident_id=incident_id, hold_id=row.hold_id)
        return _hold(lifted)

    def holds(self, incident_id: str | None = None, *, active_only: bool = True) -> list[LegalHold]:
        where = [_HOLDS.c.scope.startswith(INCIDENT_SCOPE, autoescape=True)]
        if incident_id is not None:
            where = [_HOLDS.c.scope == incident_scope(incident_id)]
        if active_only:
            where.append(_HOLDS.c.lifted_at.is_(None))
        with db.read(self.engine) as conn:
            rows = conn.execute(select(_HOLDS).where(*where).order_by(_HOLDS.c.scope, _HOLDS.c.set_at)).all()
        return [_hold(r) for r in rows]

    @staticmethod
    def _matter(matter: str) -> str:
        matter = matter.strip()
        if not _MATTER.match(matter):
            raise RetentionError("matter: give the matter's reference, 1–200 printable characters (e.g. a docket number)")
        return matter

    def _known_incident(self, incident_id: str) -> None:
        with db.read(self.engine) as conn:
            known = conn.execute(select(_STREAM_TIPS.c.size).where(_STREAM_TIPS.c.stream == f"incident:{incident_id}")).first()
        if known is None:
            raise RetentionError(f"no incident {incident_id!r} in the ledger: a legal hold names an event noticeflow recorded")

    # -- the sweep -----------------------------------------------------------------------------------

    def closure(self, incident_id: str) -> Closure | None:
        """The event's closure entry, if it was closed."""
        with db.read(self.engine) as conn:
            row = conn.execute(
                select(_ENTRIES.c.seq, _ENTRIES.c.hash, _ENTRIES.c.citation, _ENTRIES.c.data)
                .where(_ENTRIES.c.stream == f"incident:{incident_id}", _ENTRIES.c.type == CLOSURE_TYPE)
                .order_by(_ENTRIES.c.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        data = json.loads(row.data)
        retain_until = dt.datetime.fromisoformat(data["retain_until"])
        return Closure(incident_id, retain_until, row.citation or "the retention rule cited at closure", int(row.seq), row.hash)

    def sweep(self, now: dt.datetime | None = None, *, actor: str = SWEEP_ACTOR, page: int = 500) -> SweepResult:
        """Destroy the data key of every closed event whose retention has ended and that no legal
        hold keeps; record why a held one is kept. Safe to run again at any time."""
        now = now or dt.datetime.now(dt.UTC)
        result = SweepResult()
        after: str | None = None
        while True:
            keys = self.contacts.live_scopes(INCIDENT_SCOPE, after=after, limit=page)
            for key in keys:
                self._sweep_one(key, now, actor, result)
            if len(keys) < page:
                break
            after = keys[-1].scope
        log.info("retention_sweep", destroyed=len(result.destroyed), held=len(result.held), not_due=result.not_due)
        return result

    def _sweep_one(self, key: DataKeyInfo, now: dt.datetime, actor: str, result: SweepResult) -> None:
        incident_id = key.scope[len(INCIDENT_SCOPE):]
        closure = self.closure(incident_id)
        if closure is None:
            result.not_closed += 1
            return
        if closure.retain_until > now:
            result.not_due += 1
            return
        retain_until = closure.retain_until.isoformat()
        holds = self.holds(incident_id)
        if holds:
            matters = sorted({h.matter for h in holds})
            self.ledger.append(
                EntryDraft(
                    stream=RETENTION_STREAM, type="contacts.destruction_held", step=f"retention/{key.key_id}/held/{holds[0].hold_id}",
                    actor=actor, citation=closure.citation,
                    data={"incident_id": incident_id, "data_key_id": key.key_id, "retain_until": retain_until, "matters": matters},
                )
            )
            result.held.append({"incident_id": incident_id, "data_key_id": key.key_id, "retain_until": retain_until, "matters": matters})
            return
        step = f"retention/{key.key_id}/destroyed"
        entry = self.ledger.get_by_step(step)  # a sweep that died after ledgering: finish its destruction
        if entry is None:
            rosters, contacts = self._sealed_counts(key.key_id)
            entry = self.ledger.append(
                EntryDraft(
                    stream=RETENTION_STREAM, type="contacts.data_key_destroyed", step=step, actor=actor, citation=closure.citation,
                    data={
                        "incident_id": incident_id, "data_key_id": key.key_id, "kek_id": key.kek_id,
                        "destroyed_at": now.isoformat(), "retain_until": retain_until,
                        "closure": {"seq": closure.seq, "hash": closure.hash}, "rosters": rosters, "contacts": contacts,
                    },
                )
            )
        destroyed_at = dt.datetime.fromisoformat(entry.data["destroyed_at"])
        self.contacts.destroy(key.scope, at=destroyed_at, citation=closure.citation, reason=f"retention ended {retain_until[:10]}")
        result.destroyed.append(
            {"incident_id": incident_id, "data_key_id": key.key_id, "retain_until": retain_until, "citation": closure.citation,
             "ledger_seq": entry.seq}
        )

    def _sealed_counts(self, key_id: str) -> tuple[list[str], int]:
        with db.read(self.engine) as conn:
            rows = conn.execute(
                select(_ROSTER_CONTACTS.c.roster_id, func.count())
                .where(_ROSTER_CONTACTS.c.data_key_id == key_id)
                .group_by(_ROSTER_CONTACTS.c.roster_id)
                .order_by(_ROSTER_CONTACTS.c.roster_id)
            ).all()
        return [r[0] for r in rows], sum(int(r[1]) for r in rows)


__all__ = [
    "RETENTION_STREAM",
    "Closure",
    "ContactRetention",
    "HoldNotFound",
    "LegalHold",
    "LegalHoldRow",
    "RetentionError",
    "SweepResult",
    "incident_scope",
]
