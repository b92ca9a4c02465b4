"""Privacy-notice documents and their delivery (28 TAC §§ 22.8–22.14).

Rendering
---------
A notice is rendered **once per (policy version, kind[, with opt-out notice])** from the
:class:`~models.privacy_lifecycle.PrivacyPolicyRecord` — the specimen of record, stored in the
content-addressed document store and named by its sha256, which the ledger records. Its content
is checked against 28 TAC § 22.10 with ``rules.privacy_notices.lint_notice`` *before* anything is
rendered or sent: a notice that fails is refused with the findings (:class:`NoticeLintError`) and
nothing goes out. Only the envelope is personal: the address block of a letter (window envelope)
and the ``To`` of an e-mail; the notice text is the specimen's, for every consumer.

Delivery (28 TAC § 22.13)
-------------------------
:func:`choose_channel` decides per relationship: e-mail only where the consumer obtains products
electronically *and* agreed to electronic notices ((a), (c)(2)) — for a joint relationship, every
joint consumer; otherwise a letter mailed to the last known address ((b)(2)); otherwise the
relationship is *undeliverable* and is reported as such (no channel gives actual notice; an oral
explanation alone never counts, (e)). Letters go through ``PrintBatchChannel`` (one print batch per
call), e-mails through ``SmtpChannel``, each delivery claimed in the privacy store first so that no
notice is ever sent twice (``PrivacyStore.claim_deliveries``).

Entry points for the fan-out: :meth:`PrivacyDocuments.prepare` (lint + render once) and
:meth:`PrivacyDocuments.deliver` (a batch of :class:`NoticeDeliveryRequest` in one call).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from markupsafe import Markup

from activities.delivery import (
    ChannelUnavailableError,
    DeliveryChannel as Channel,
    Envelope,
    OutcomeStatus,
    PrintBatchChannel,
)
from activities.documents import render_template
from activities.files import safe_name, write_atomically
from activities.print_stream import LetterTemplate, merge_field
from activities.privacy_store import PrivacyStore, record_sha256
from models.privacy import DeliveryChannel, LintFinding, NoticeKind
from models.privacy_lifecycle import (
    ConsumerFlags,
    DeliveryRecord,
    DeliveryStatus,
    NoticeDeliveryRequest,
    NoticeDeliveryResult,
    PrivacyConsumer,
    PrivacyDocumentRef,
    PrivacyPolicyRecord,
    RelationshipRecord,
)
from rules.jurisdictions import OPT_OUT_REASONABLE_OPPORTUNITY_DAYS
from rules.privacy_notices import lint_notice

log = structlog.get_logger("noticeflow.privacy_documents")

CITE_CONTENT = "28 TAC § 22.10"
CITE_DELIVERY = "28 TAC § 22.13"
#: The rule each kind of notice fulfils.
KIND_CITATIONS: dict[NoticeKind, str] = {
    NoticeKind.INITIAL: "28 TAC § 22.8",
    NoticeKind.SHORT_FORM_INITIAL: "28 TAC § 22.10(f)",
    NoticeKind.ANNUAL: "28 TAC § 22.9(a)",
    NoticeKind.REVISED: "28 TAC § 22.12",
    NoticeKind.OPT_OUT: "28 TAC § 22.11; § 22.14(a)(2)",
}
TITLES: dict[NoticeKind, str] = {
    NoticeKind.INITIAL: "Privacy notice",
    NoticeKind.SHORT_FORM_INITIAL: "Privacy notice",
    NoticeKind.ANNUAL: "Annual privacy notice",
    NoticeKind.REVISED: "Revised privacy notice",
    NoticeKind.OPT_OUT: "Opt-out notice",
}
_EXT = {"text/html": "html", "text/plain": "txt"}


class NoticeLintError(ValueError):
    """The notice's content does not meet 28 TAC § 22.10: it is not sent."""

    def __init__(self, version_id: str, kind: NoticeKind, findings: Sequence[LintFinding]) -> None:
        self.version_id = version_id
        self.kind = kind
        self.findings = list(findings)
        items = "; ".join(f"{f.item} {f.problem}: {f.message}" for f in self.findings)
        super().__init__(
            f"the {kind.value} notice for policy {version_id} fails {CITE_CONTENT} and is not sent: {items}"
        )


# =============================================================================================
# Channel choice, 28 TAC § 22.13
# =============================================================================================


@dataclass(frozen=True)
class ChannelChoice:
    channel: DeliveryChannel | None
    consumer_agreed_electronic: bool
    basis: str
    citation: str
    #: The member whose address the envelope carries (the first reachable joint consumer).
    addressee: str | None


def choose_channel(members: Sequence[ConsumerFlags]) -> ChannelChoice:
    """28 TAC § 22.13(a): notice "so that each consumer can reasonably be expected to receive actual
    notice in writing or, if the consumer agrees, electronically"; (c)(2): e-mail to a consumer who
    does not obtain the product electronically is not enough; (b)(2): mailing a printed copy to the
    last known address is. A joint relationship gets one notice (§ 22.13(h)); it goes by e-mail only
    if every joint consumer transacts electronically and agreed (the stricter reading)."""
    electronic = bool(members) and all(m.transacts_electronically and m.e_delivery_consent for m in members)
    with_email = [m for m in members if m.has_email]
    if electronic and with_email:
        return ChannelChoice(
            DeliveryChannel.EMAIL,
            True,
            "e-mail: the consumer obtains products electronically and agreed to electronic notices",
            f"{CITE_DELIVERY}(a), (c)(2)",
            with_email[0].consumer_ref,
        )
    with_postal = [m for m in members if m.has_postal_address]
    if with_postal:
        return ChannelChoice(
            DeliveryChannel.MAIL,
            False,
            "mail: a printed copy to the last known address"
            + ("" if electronic else " (e-mail is used only for consumers who transact electronically and agreed)"),
            f"{CITE_DELIVERY}(b)(2)",
            with_postal[0].consumer_ref,
        )
    return ChannelChoice(
        None,
        False,
        "undeliverable: no postal address, and e-mail is not agreed; an oral explanation alone is not notice",
        f"{CITE_DELIVERY}(a), (e)",
        None,
    )


# =============================================================================================
# Rendering once per (policy version, kind)
# =============================================================================================


@dataclass(frozen=True)
class NoticePackage:
    """A rendered notice (with its opt-out notice when asked) — the same for every consumer."""

    policy_version: str
    kind: NoticeKind
    include_opt_out_notice: bool
    subject: str
    text: str
    html: str  # standalone HTML (the specimen; the e-mail's HTML part)
    body_html: str  # the sections, for letters
    documents: tuple[PrivacyDocumentRef, ...]
    citation: str
    licensee_name: str


def notice_citation(kind: NoticeKind, include_opt_out_notice: bool) -> str:
    base = KIND_CITATIONS[kind]
    return f"{base}; {KIND_CITATIONS[NoticeKind.OPT_OUT]}" if include_opt_out_notice and kind is not NoticeKind.OPT_OUT else base


def check_content(record: PrivacyPolicyRecord, kind: NoticeKind, include_opt_out_notice: bool = False) -> None:
    """Refuse a notice whose content fails 28 TAC § 22.10 for its policy, or an opt-out notice
    with no opt-out explanation and methods (§ 22.10(b)(6))."""
    notice = record.notice.model_copy(update={"kind": kind, "policy_version": record.version_id})
    result = lint_notice(notice, record.policy)
    findings = list(result.findings)
    if (include_opt_out_notice or kind is NoticeKind.OPT_OUT) and (
        notice.opt_out is None or not notice.opt_out.explanation or not notice.opt_out.methods
    ):
        if not any(f.item == "§ 22.10(b)(6)" for f in findings):
            findings.append(
                LintFinding(
                    item="§ 22.10(b)(6)",
                    citation=f"{CITE_CONTENT}(b)(6)",
                    problem="missing",
                    message="An opt-out notice needs the explanation of the right to opt out and the methods.",
                )
            )
    if findings:
        raise NoticeLintError(record.version_id, kind, findings)


def _render(record: PrivacyPolicyRecord, kind: NoticeKind, include_opt_out_notice: bool) -> tuple[str, str, str, str]:
    title = TITLES[kind]
    context = {"r": record, "n": record.notice, "citation": KIND_CITATIONS[kind], "days": OPT_OUT_REASONABLE_OPPORTUNITY_DAYS}
    html_parts: list[str] = []
    text_parts: list[str] = []
    if kind is not NoticeKind.OPT_OUT:
        html_parts.append(render_template("privacy/_body.html.j2", title=title, **context))
        text_parts.append(render_template("privacy/_body.txt.j2", title=title, **context))
    if include_opt_out_notice or kind is NoticeKind.OPT_OUT:
        opt_context = {**context, "citation": KIND_CITATIONS[NoticeKind.OPT_OUT]}
        html_parts.append(render_template("privacy/_opt_out.html.j2", **opt_context))
        text_parts.append(render_template("privacy/_opt_out.txt.j2", **opt_context))
    subject = f"{title} — {record.licensee_name}" + (" (with your right to opt out)" if include_opt_out_notice else "")
    body_html = "\n".join(html_parts)
    html = render_template("privacy/notice.html.j2", subject=subject, parts=[Markup(p) for p in html_parts])
    text = "\n\n".join(text_parts)
    return subject, text, html, body_html


class PrivacyDocuments:
    """Renders privacy notices into the document store and delivers them through the channels."""

    def __init__(
        self,
        documents_dir: Path,
        outbox_dir: Path,
        store: PrivacyStore,
        email_channel: Callable[[], Channel],
    ) -> None:
        self.documents_dir = documents_dir
        self.outbox_dir = outbox_dir
        self.store = store
        self._email_channel = email_channel
        self._packages: dict[tuple[str, str, bool, str], NoticePackage] = {}
        self._policies: dict[str, PrivacyPolicyRecord] = {}

    # -- rendering ------------------------------------------------------------------------------

    def policy(self, version_id: str) -> PrivacyPolicyRecord:
        record = self._policies.get(version_id)
        if record is None:
            record = self._policies[version_id] = self.store.get_policy(version_id)
        return record

    def _put(self, data: bytes, media_type: str, kind: NoticeKind, version: str, citation: str) -> PrivacyDocumentRef:
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{_EXT[media_type]}"
        write_atomically(self.documents_dir / name, data, replace=False)
        return PrivacyDocumentRef(
            kind=kind, policy_version=version, sha256=digest, path=name, media_type=media_type, size=len(data), citation=citation
        )

    def prepare(self, record: PrivacyPolicyRecord, kind: NoticeKind, include_opt_out_notice: bool = False) -> NoticePackage:
        """Check the content (§ 22.10; raises :class:`NoticeLintError`), then render the notice
        once for this policy version and kind and store its specimen (HTML and text). Later calls
        return the same package from memory; the document set is also recorded in the store."""
        variant = record_sha256(record)
        key = (record.version_id, kind.value, include_opt_out_notice, variant)
        cached = self._packages.get(key)
        if cached is not None:
            return cached
        check_content(record, kind, include_opt_out_notice)
        subject, text, html, body_html = _render(record, kind, include_opt_out_notice)
        citation = notice_citation(kind, include_opt_out_notice)
        docs = (
            self._put(html.encode("utf-8"), "text/html", kind, record.version_id, citation),
            self._put(text.encode("utf-8"), "text/plain", kind, record.version_id, citation),
        )
        self.store.put_document_set(
            record.version_id,
            kind.value + ("+opt_out" if include_opt_out_notice else ""),
            variant,
            [d.model_dump(mode="json") for d in docs],
        )
        package = NoticePackage(
            policy_version=record.version_id,
            kind=kind,
            include_opt_out_notice=include_opt_out_notice,
            subject=subject,
            text=text,
            html=html,
            body_html=body_html,
            documents=docs,
            citation=citation,
            licensee_name=record.licensee_name,
        )
        self._packages[key] = package
        log.info("privacy_notice_rendered", policy_version=record.version_id, kind=kind.value,
                 with_opt_out=include_opt_out_notice, sha256=docs[0].sha256)
        return package

    @staticmethod
    def letter(package: NoticePackage, members: Sequence[PrivacyConsumer], addressee: PrivacyConsumer, mailed_on: object) -> str:
        """The letter for one relationship: the specimen's sections under a personal envelope part
        (names of the joint consumers and the addressee's postal address, for a window envelope)."""
        assert addressee.postal_address is not None
        return render_template(
            "privacy/letter.html.j2",
            subject=package.subject,
            licensee_name=package.licensee_name,
            names=[m.name for m in members],
            address_lines=addressee.postal_address.lines(),
            mailed_on=mailed_on,
            body=Markup(package.body_html),
        )

    @staticmethod
    def letter_template(package: NoticePackage) -> LetterTemplate:
        """:meth:`letter` rendered once for a notice with merge fields in place of the envelope
        part — the print stream's ``notice.html``: merged with an envelope record it gives, byte
        for byte, the letter :meth:`letter` renders for that envelope."""
        html = render_template(
            "privacy/letter.html.j2",
            subject=package.subject,
            licensee_name=package.licensee_name,
            names=[Markup(merge_field("names"))],
            address_lines=[Markup(merge_field("address"))],
            mailed_on=Markup(merge_field("mailed_on")),
            body=Markup(package.body_html),
        )
        return LetterTemplate.from_html(html)

    # -- delivery -------------------------------------------------------------------------------

    async def deliver(self, requests: Sequence[NoticeDeliveryRequest], *, batch_id: str) -> list[NoticeDeliveryResult]:
        """Deliver one notice to each requested relationship; ``batch_id`` names the print batch.

        Every request of a call must be for the same policy version, kind and opt-out flag (a
        fan-out batch, or one relationship). Content is checked first: a notice that fails
        § 22.10 raises :class:`NoticeLintError` before anything is claimed or sent. A request
        whose delivery was already made (same ``relationship_id`` and ``notice_id``) returns the
        recorded delivery without sending again."""
        if not requests:
            return []
        first = requests[0]
        for r in requests:
            if (r.policy_version, r.kind, r.include_opt_out_notice) != (first.policy_version, first.kind, first.include_opt_out_notice):
                raise ValueError("requests: one call delivers one notice (policy version, kind, opt-out flag) to many relationships")
        record = await asyncio.to_thread(self.policy, first.policy_version)
        package = await asyncio.to_thread(self.prepare, record, first.kind, first.include_opt_out_notice)
        return await self._deliver(requests, package, batch_id)

    async def _deliver(self, requests: Sequence[NoticeDeliveryRequest], package: NoticePackage, batch_id: str) -> list[NoticeDeliveryResult]:
        store = self.store
        relationships = {r.relationship_id: await asyncio.to_thread(store.get_relationship, r.relationship_id) for r in requests}
        refs = sorted({ref for rel in relationships.values() for ref in rel.consumer_refs})
        flags = await asyncio.to_thread(store.consumer_flags, refs)
        choices = {rid: choose_channel([flags[ref] for ref in rel.consumer_refs if ref in flags]) for rid, rel in relationships.items()}
        docs = [d.sha256 for d in package.documents]

        def pending(req: NoticeDeliveryRequest) -> DeliveryRecord:
            choice = choices[req.relationship_id]
            return DeliveryRecord(
                delivery_key=f"{req.relationship_id}/{req.notice_id}",
                relationship_id=req.relationship_id,
                notice_id=req.notice_id,
                kind=req.kind,
                policy_version=req.policy_version,
                includes_opt_out_notice=req.include_opt_out_notice,
                channel=choice.channel or DeliveryChannel.MAIL,
                status=DeliveryStatus.PENDING if choice.channel else DeliveryStatus.UNDELIVERABLE,
                delivered_at=req.as_of,
                consumer_agreed_electronic=choice.consumer_agreed_electronic,
                isolated_transaction=req.isolated_transaction,
                documents=docs,
                batch_id=batch_id if choice.channel is DeliveryChannel.MAIL else None,
                failure=None if choice.channel else choice.basis,
            )

        claims = [pending(r) for r in requests]
        won = await asyncio.to_thread(store.claim_deliveries, claims)
        final: dict[str, DeliveryRecord] = {}
        to_mail: list[DeliveryRecord] = []
        to_email: list[DeliveryRecord] = []
        for claim in claims:
            if claim.delivery_key not in won:
                existing = await asyncio.to_thread(store.get_delivery, claim.delivery_key)
                assert existing is not None
                # A letter claimed by an attempt that died before recording it is written again:
                # the print batch is replaced with the same letters. An e-mail is never resent.
                if existing.status is DeliveryStatus.PENDING and existing.channel is DeliveryChannel.MAIL:
                    to_mail.append(existing)
                elif existing.status is DeliveryStatus.PENDING:
                    final[claim.delivery_key] = existing.model_copy(update={"status": DeliveryStatus.IN_DOUBT})
                    await asyncio.to_thread(store.finish_deliveries, [final[claim.delivery_key]])
                else:
                    final[claim.delivery_key] = existing
            elif claim.status is DeliveryStatus.UNDELIVERABLE:
                final[claim.delivery_key] = claim
            elif claim.channel is DeliveryChannel.MAIL:
                to_mail.append(claim)
            else:
                to_email.append(claim)
        contacts = await asyncio.to_thread(
            store.consumer_contacts,
            sorted({ref for d in (*to_mail, *to_email) for ref in relationships[d.relationship_id].consumer_refs}),
        )
        if to_mail:
            for record in await self._mail(to_mail, package, relationships, contacts, choices, batch_id):
                final[record.delivery_key] = record
        if to_email:
            for record in await self._email(to_email, package, relationships, contacts, choices):
                final[record.delivery_key] = record
        results = []
        for req in requests:
            key = f"{req.relationship_id}/{req.notice_id}"
            choice = choices[req.relationship_id]
            results.append(
                NoticeDeliveryResult(
                    delivery=final[key],
                    documents=list(package.documents),
                    channel_basis=choice.basis,
                    citation=choice.citation,
                )
            )
        return results

    async def _mail(
        self,
        records: list[DeliveryRecord],
        package: NoticePackage,
        relationships: dict[str, RelationshipRecord],
        contacts: dict[str, PrivacyConsumer],
        choices: dict[str, ChannelChoice],
        batch_id: str,
    ) -> list[DeliveryRecord]:
        channel = PrintBatchChannel(self.outbox_dir)
        envelopes = []
        for d in records:
            members = [contacts[ref] for ref in relationships[d.relationship_id].consumer_refs if ref in contacts]
            addressee = contacts[choices[d.relationship_id].addressee or ""]
            html = self.letter(package, members, addressee, d.delivered_at)
            envelopes.append(
                Envelope(
                    recipient_ref=d.delivery_key,
                    name=" and ".join(m.name for m in members),
                    subject=package.subject,
                    text=package.text,
                    html=html,
                    postal_address=addressee.postal_address,
                    specimen_sha256=package.documents[0].sha256,
                )
            )
        outcome = await channel.deliver(f"privacy-{safe_name(batch_id)}", envelopes)
        by_key = {o.recipient_ref: o for o in outcome.outcomes}
        done = []
        for d in records:
            o = by_key[d.delivery_key]
            sent = o.status is OutcomeStatus.SENT
            done.append(
                d.model_copy(
                    update={
                        "status": DeliveryStatus.SENT if sent else DeliveryStatus.FAILED,
                        "batch_id": f"privacy-{safe_name(batch_id)}",
                        "failure": None if sent else o.reason,
                    }
                )
            )
        await asyncio.to_thread(self.store.finish_deliveries, done)
        await channel.seal(f"privacy-{safe_name(batch_id)}")
        return done

    async def _email(
        self,
        records: list[DeliveryRecord],
        package: NoticePackage,
        relationships: dict[str, RelationshipRecord],
        contacts: dict[str, PrivacyConsumer],
        choices: dict[str, ChannelChoice],
    ) -> list[DeliveryRecord]:
        channel = self._email_channel()
        done: list[DeliveryRecord] = []
        try:
            for d in records:
                env = email_envelope(d.delivery_key, package, contacts[choices[d.relationship_id].addressee or ""])
                try:
                    outcome = (await channel.deliver(d.delivery_key, [env])).outcomes[0]
                except ChannelUnavailableError as exc:
                    # Nothing was handed over: release the claim so the retry sends it.
                    await asyncio.to_thread(self.store.finish_deliveries, done)
                    await asyncio.to_thread(self.store.release_claim, d.delivery_key)
                    raise exc
                record = d.model_copy(update={"status": delivery_status(outcome.status), "failure": outcome.reason})
                await asyncio.to_thread(self.store.finish_deliveries, [record])
                done.append(record)
        finally:
            await channel.aclose()
        return done


def email_envelope(delivery_key: str, package: NoticePackage, addressee: PrivacyConsumer) -> Envelope:
    """The e-mail of one delivery: the shared rendering, only the envelope personal; the
    Message-ID is derived from the delivery key, so a retried send is recognisable as the same."""
    return Envelope(
        recipient_ref=delivery_key,
        name=addressee.name,
        subject=package.subject,
        text=package.text,
        html=package.html,
        email=addressee.email,
        message_id=f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:40]}@privacy.noticeflow>",
        specimen_sha256=package.documents[0].sha256,
    )


def delivery_status(outcome: OutcomeStatus) -> DeliveryStatus:
    """A channel's outcome as the privacy store records it."""
    return {OutcomeStatus.SENT: DeliveryStatus.SENT, OutcomeStatus.IN_DOUBT: DeliveryStatus.IN_DOUBT}.get(
        outcome, DeliveryStatus.FAILED
    )


def package_summary(package: NoticePackage) -> dict[str, object]:
    """What the ledger records about a rendered notice: digests, never content about a person."""
    return {
        "policy_version": package.policy_version,
        "kind": package.kind.value,
        "with_opt_out_notice": package.include_opt_out_notice,
        "documents": [{"sha256": d.sha256, "media_type": d.media_type} for d in package.documents],
    }


__all__ = [
    "ChannelChoice",
    "NoticeLintError",
    "NoticePackage",
    "PrivacyDocuments",
    "check_content",
    "choose_channel",
    "delivery_status",
    "email_envelope",
    "notice_citation",
    "package_summary",
]
