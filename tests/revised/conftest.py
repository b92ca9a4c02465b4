"""Fixtures of the revised-notice tests: the workflow tests' ``stack`` (time-skipping server, a
real worker with every workflow and activity, a real ledger, a real SMTP server) and a synthetic
population of consumers and relationships registered through the privacy store's own API."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowHandle

from activities import db
from activities.privacy_store import ConsumerRow, PrivacyStore, RelationshipMemberRow, RelationshipRow
from ledger.store import EntryFilter
from models.privacy_lifecycle import OptOutRecord, PrivacyConsumer, PrivacyPolicyRecord, RelationshipRecord
from models.revised_notice import RevisedNoticeStart, revised_stream, revised_workflow_id
from tests.activities.conftest import SmtpRecorder, SmtpServer, running_smtp, smtp_server  # noqa: F401 — the fixture
from tests.privacy.builders import LETTERHEAD, NOTICE_V1, NOTICE_V2, ref
from tests.rules.privacy_builders import POLICY_V1, POLICY_V2
from tests.workflows.conftest import HISTORIES, Stack, eventually, stack  # noqa: F401 — the fixture
from workflows.revised_notice import RevisedNoticeWorkflow

__all__ = ["CountingRelay", "Population", "SmtpServer", "eventually", "relay_server", "smtp_server", "stack"]


@dataclass
class CountingRelay(SmtpRecorder):
    """A real aiosmtpd relay (``tests/activities/conftest.py``) that counts, on the server side,
    the connections made to it (one EHLO each), offers PIPELINING when ``pipelining`` (as Postfix
    does), notes each transaction whose ``RCPT TO`` had already arrived when ``MAIL FROM`` was
    answered (the client pipelined them) and each message whose end had the next ``MAIL FROM``
    behind it (pipelined across messages), and drops the connection during the message to the
    recipients in ``drop``."""

    pipelining: bool = True
    drop: set[str] = field(default_factory=set)
    connections: int = 0
    pipelined: int = 0
    chained: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001, N802
        self.connections += 1
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001, N802
        waiting = bytes(getattr(getattr(server, "_reader", None), "_buffer", b""))
        if b"RCPT TO" in waiting.upper():
            self.pipelined += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        if b"MAIL FROM" in bytes(getattr(getattr(server, "_reader", None), "_buffer", b"")).upper():
            self.chained += 1
        if self.drop & set(envelope.rcpt_tos):
            server.transport.close()  # after the message arrived, before the reply: in doubt
            return "250 OK"
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def relay_server(**options: Any) -> Iterator[tuple[SmtpServer, CountingRelay]]:
    relay = CountingRelay(**options)
    with running_smtp(relay) as server:
        yield server, relay

#: v1 → v2 adds a new category of information to nonaffiliated third parties (§ 22.12(b)(1))
#: and discloses former customers' information (§ 22.12(b)(3)): a revised notice is required.
V1 = PrivacyPolicyRecord.model_validate({"policy": POLICY_V1, "notice": NOTICE_V1, **LETTERHEAD})
V2 = PrivacyPolicyRecord.model_validate({"policy": POLICY_V2, "notice": NOTICE_V2, **LETTERHEAD})


def same_category_recipient(version: str = "v1-r") -> PrivacyPolicyRecord:
    """v1 with one more recipient in a category the v1 notice already described: no revised notice
    (§ 22.12(b)(2); § 22.10(d)(1))."""
    disclosures = [dict(d) for d in POLICY_V1["disclosures"]]
    disclosures[0]["recipients"] = [*disclosures[0]["recipients"], "Llano Premium Finance"]
    policy = {**POLICY_V1, "version_id": version, "disclosures": disclosures}
    return PrivacyPolicyRecord.model_validate({"policy": policy, "notice": {**NOTICE_V1, "policy_version": version}, **LETTERHEAD})


def without_opt_out_explanation(version: str = "v2-bad") -> PrivacyPolicyRecord:
    """v2 whose notice text lacks the § 22.10(b)(6) opt-out explanation."""
    policy = {**POLICY_V2, "version_id": version}
    notice = {**NOTICE_V2, "policy_version": version, "opt_out": None}
    return PrivacyPolicyRecord.model_validate({"policy": policy, "notice": notice, **LETTERHEAD})


def relationship_id(i: int) -> str:
    return f"REL-{i:07d}"


@dataclass
class Population:
    stack: Stack

    @property
    def store(self) -> PrivacyStore:
        return self.stack.resources.revised.store

    def register(
        self,
        n: int,
        *,
        policies: tuple[PrivacyPolicyRecord, ...] = (V1, V2),
        email_every: int = 5,
        no_contact: frozenset[int] = frozenset(),
        former_customers: frozenset[int] = frozenset(),
        closed: frozenset[int] = frozenset(),
        version: str = "v1",
    ) -> None:
        """``n`` relationships under ``version``: every ``email_every``-th consumer transacts
        electronically and agreed to e-mail (§ 22.13), the rest get letters; ``no_contact`` have
        neither address nor e-mail."""
        for p in policies:
            self.store.put_policy(p)

        def consumers() -> Iterator[PrivacyConsumer]:
            for i in range(n):
                reachable = i not in no_contact
                electronic = email_every > 0 and i % email_every == 0
                yield PrivacyConsumer(
                    consumer_ref=ref(f"C{i}"),
                    jurisdiction="TX",
                    name=f"Jordan Alvarez {i}",
                    email=f"jordan.{i}@mail.example" if reachable and electronic else None,
                    postal_address={"line1": f"{100 + i} Congress Ave", "city": "Austin", "region": "TX", "postal_code": "78701"}
                    if reachable else None,
                    e_delivery_consent=electronic,
                    transacts_electronically=electronic,
                )

        def relationships() -> Iterator[RelationshipRecord]:
            for i in range(n):
                stage = "former_customer" if i in former_customers else "closed" if i in closed else "customer"
                yield RelationshipRecord(
                    relationship_id=relationship_id(i), jurisdiction="TX", consumer_refs=[ref(f"C{i}")],
                    is_customer=True, policy_version=version, stage=stage,  # type: ignore[arg-type]
                )

        self.store.upsert_consumers(consumers())
        self.store.register_relationships(relationships())

    def register_bulk(self, n: int, *, email_every: int, no_contact: frozenset[int] = frozenset()) -> None:
        """What :meth:`register` stores, written straight into the store's tables in chunks of
        20,000 rows (contacts sealed as the store seals them, ``sealed_consumer_rows``): for
        populations whose per-row API checks would take longer than the run under test."""
        for p in (V1, V2):
            self.store.put_policy(p)
        for start in range(0, n, 20_000):
            people, relationships, members = [], [], []
            for i in range(start, min(n, start + 20_000)):
                consumer_ref = ref(f"C{i}")
                reachable = i not in no_contact
                electronic = i % email_every == 0
                people.append(PrivacyConsumer(
                    consumer_ref=consumer_ref, jurisdiction="TX", name=f"Jordan Alvarez {i}",
                    email=f"jordan.{i}@mail.example" if reachable and electronic else None,
                    postal_address={"line1": f"{100 + i} Congress Ave", "city": "Austin", "region": "TX", "postal_code": "78701"}
                    if reachable else None,
                    e_delivery_consent=electronic, transacts_electronically=electronic,
                ))
                relationships.append({"relationship_id": relationship_id(i), "jurisdiction": "TX",
                                      "consumer_refs": json.dumps([consumer_ref]), "is_customer": True,
                                      "isolated_transaction": False, "policy_version": "v1", "stage": "customer"})
                members.append({"relationship_id": relationship_id(i), "consumer_ref": consumer_ref})
            consumers = self.store.sealed_consumer_rows(people)
            with db.write(self.store.engine) as conn:
                conn.execute(ConsumerRow.__table__.insert(), consumers)
                conn.execute(RelationshipRow.__table__.insert(), relationships)
                conn.execute(RelationshipMemberRow.__table__.insert(), members)

    def opt_out(self, i: int, at: dt.datetime, *, election: str | None = None) -> str:
        election_id = election or f"OPT-{i}"
        self.store.record_opt_outs(
            [OptOutRecord(election_id=election_id, relationship_id=relationship_id(i), consumer_ref=ref(f"C{i}"),
                          received_at=at, effective_at=at)]
        )
        return election_id

    async def start(self, old: str = "v1", new: str = "v2", **overrides: Any) -> WorkflowHandle:
        start = RevisedNoticeStart.model_validate({"old_version": old, "new_version": new, "started_by": "ops", **overrides})
        return await self.stack.client.start_workflow(
            RevisedNoticeWorkflow.run, start, id=revised_workflow_id(old, new), task_queue=self.stack.task_queue
        )

    async def progress(self, handle: WorkflowHandle) -> Any:
        return await handle.query(RevisedNoticeWorkflow.progress)

    def entries(self, old: str = "v1", new: str = "v2") -> list:
        return list(self.stack.ledger.entries(EntryFilter(stream=revised_stream(old, new))))

    def types(self, old: str = "v1", new: str = "v2") -> list[str]:
        return [e.type for e in self.entries(old, new)]

    async def history_lengths(self, handle: WorkflowHandle) -> list[int]:
        """Events in each run of ``handle``'s workflow (every continue-as-new run), oldest first."""
        lengths = []
        run_id = handle.first_execution_run_id or handle.result_run_id
        while run_id:
            history = await self.stack.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
            lengths.append(len(history.events))
            last = history.events[-1]
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if last.HasField(
                "workflow_execution_continued_as_new_event_attributes") else None
        return lengths

    async def save_histories(self, name: str, workflow_ids: list[str]) -> None:
        """With NOTICEFLOW_RECORD_HISTORIES=1, keep these workflows' histories for the replay tests."""
        if os.environ.get("NOTICEFLOW_RECORD_HISTORIES") != "1":
            return
        HISTORIES.mkdir(exist_ok=True)
        for workflow_id in workflow_ids:
            history = await self.stack.client.get_workflow_handle(workflow_id).fetch_history()
            safe = workflow_id.replace(":", "_").replace("/", "_")
            (HISTORIES / f"{name}__{safe}.json").write_text(history.to_json())

