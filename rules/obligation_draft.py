"""Assembling one obligation: the context an event is judged in, the provisions applied with the
counsel-review reasons they raise, and the obligation itself with its deadline and citation.

Shared by ``rules.cyber`` (the insurance data security acts) and ``rules.general_law`` (the general
breach-notification laws), so that an obligation reads the same whichever law creates it. Pure: no
I/O, no wall clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from models.common import Clock, RuleStatus
from models.incident import IncidentIntake
from models.licensee import DeadlinePolicy
from models.obligation import ClockStart, Obligation, ObligationKind, RecipientRole
from rules.calendar import clock_origin, clock_zone, deadline
from rules.jurisdictions import STATE_NAMES, Provision, describe_unverified, needs_counsel_review, tennessee_rule_applied


@dataclass(frozen=True)
class Context:
    intake: IncidentIntake
    determined_at: dt.datetime
    determination_assumed: bool
    policy: DeadlinePolicy
    consumer_npi: bool

    def law_date(self, state: str) -> dt.date:
        """The trigger date by which ``state``'s law in force is chosen (``rules.effective``): the
        local date, in the state's zone, of the determination (or of discovery while none is recorded)."""
        return self.determined_at.astimezone(zone_of(self, state)).date()


@dataclass
class Draft:
    """An obligation being assembled: provisions applied and counsel-review reasons collected."""

    provisions: list[Provision] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def apply(self, provision: Provision | None, *, first: bool = False) -> None:
        if provision is not None and provision not in self.provisions:
            self.provisions.insert(0, provision) if first else self.provisions.append(provision)

    def flag(self, reason: str) -> None:
        if reason not in self.review:
            self.review.append(reason)

    @property
    def status(self) -> RuleStatus:
        """The weakest status among the provisions applied (reported < interpretation < verified)."""
        return weaker_status(RuleStatus.VERIFIED, *(p.status for p in self.provisions))

    def citation(self) -> str:
        return join_citations(p.citation for p in self.provisions)

    def rule_ids(self) -> list[str]:
        ids: list[str] = []
        for p in self.provisions:
            if p.rule_id not in ids:
                ids.append(p.rule_id)
        return ids


_STATUS_ORDER = (RuleStatus.REPORTED, RuleStatus.INTERPRETATION, RuleStatus.VERIFIED)


def weaker_status(*statuses: RuleStatus) -> RuleStatus:
    """The least checked of several statuses (reported < interpretation < verified)."""
    return min(statuses, key=_STATUS_ORDER.index)


def join_citations(citations: Iterable[str]) -> str:
    """Join citations, sharing the section: ['§ 56-2-1006(a)(1)', '§ 56-2-1006(d)'] → '§ 56-2-1006(a)(1), (d)'.
    A trailing "(… section not verified)" mark is kept once per group: 'NAIC #668 § 6(B), (C) (model; …)'."""
    groups: dict[tuple[str, str], list[str]] = {}
    for cite in citations:
        mark = ""
        if needs_counsel_review(cite):
            at = cite.rfind(" (")
            cite, mark = cite[:at], cite[at:]
        base, paren, rest = cite.partition("(")
        suffixes = groups.setdefault((base if paren else cite, mark), [])
        if paren and paren + rest not in suffixes:
            suffixes.append(paren + rest)
    return "; ".join(base + ", ".join(suffixes) + mark for (base, mark), suffixes in groups.items())


def applied_to(provision: Provision, state: str) -> Provision:
    """A Tennessee provision the engine applies to ``state``, whose own section is not verified:
    the citation says so and the provision counts as an interpretation."""
    if state == "TN":
        return provision
    return replace(
        provision,
        citation=tennessee_rule_applied(provision.citation, state),
        status=weaker_status(provision.status, RuleStatus.INTERPRETATION),
    )


def flag_unverified_sections(draft: Draft, state: str, *provisions: Provision | None) -> None:
    """Counsel review where a provision applied cites only the model (or Tennessee's rule)."""
    unverified = [p.citation for p in provisions if p is not None and needs_counsel_review(p.citation)]
    if unverified:
        draft.flag(describe_unverified(join_citations(unverified), state))


def zone_of(ctx: Context, state: str) -> ZoneInfo:
    return clock_zone(state, ctx.policy, ctx.intake.licensee.timezone)


def state_name(state: str) -> str:
    return STATE_NAMES[state]




def determination_start(ctx: Context) -> tuple[dt.datetime, ClockStart]:
    return ctx.determined_at, (
        ClockStart.ASSUMED_AT_DISCOVERY if ctx.determination_assumed else ClockStart.DETERMINATION
    )



def assemble(
    ctx: Context,
    *,
    kind: ObligationKind,
    state: str,
    recipient: RecipientRole,
    recipient_key: str,
    recipient_name: str,
    primary: Provision,
    draft: Draft,
    clock: Clock,
    start: dt.datetime,
    start_kind: ClockStart,
    basis: str,
    **extra: object,
) -> Obligation:
    tz = zone_of(ctx, state)
    if start_kind is ClockStart.ASSUMED_AT_DISCOVERY:
        draft.flag(
            "No determination is recorded: the clock is assumed to start at discovery, the earliest moment it "
            "could start; record the determination to fix the deadline."
        )
    draft.apply(primary, first=True)
    due = deadline(start, clock, state, ctx.policy, tz)
    return Obligation(
        obligation_id=f"{ctx.intake.incident_id}:{kind.value}:{state}:{recipient_key}",
        kind=kind,
        jurisdiction=state,
        recipient=recipient,
        recipient_key=recipient_key,
        recipient_name=recipient_name,
        due=due,
        clock=clock,
        clock_starts_at=clock_origin(start, clock, tz),
        clock_start=start_kind,
        citation=draft.citation(),
        basis=basis,
        rule_id=primary.rule_id,
        rule_ids=draft.rule_ids(),
        status=draft.status,
        needs_counsel_review=bool(draft.review),
        counsel_review_reasons=list(draft.review),
        notes=list(draft.notes),
        **extra,  # type: ignore[arg-type]
    )
