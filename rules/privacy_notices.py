"""Privacy-notice content: does a policy change need a revised notice, and is a notice complete?

* :func:`diff_policies` — 28 TAC § 22.12 (revised notices), categories per § 22.10(d).
* :func:`lint_notice` — 28 TAC § 22.10(b)(1)–(9) (full notice) and § 22.10(a) (simplified notice).
"""

from __future__ import annotations

from models.privacy import (
    DisclosureException,
    LintFinding,
    NoticeLintResult,
    PolicyChange,
    PolicyChangeKind,
    PolicyDiff,
    PolicyDisclosure,
    PrivacyNotice,
    PrivacyPolicyVersion,
)

CITE_REVISED = "28 TAC § 22.12"
CITE_CONTENT = "28 TAC § 22.10"


# ============================================================================================
# Revised notices
# ============================================================================================


def _opt_out_relevant(line: PolicyDisclosure) -> bool:
    """A disclosure § 22.12(b) looks at: to a nonaffiliated third party, under no exception of
    §§ 22.17–22.19 ("Except as otherwise permitted by § 22.17 …, § 22.18 … and § 22.19")."""
    return line.recipient_kind.is_nonaffiliated and line.exception is DisclosureException.NONE


def diff_policies(old: PrivacyPolicyVersion, new: PrivacyPolicyVersion) -> PolicyDiff:
    """28 TAC § 22.12(b): "a covered entity shall provide a revised notice before it: (1) discloses a
    new category of nonpublic personal financial information to any nonaffiliated third party; (2)
    discloses nonpublic personal financial information to a new category of nonaffiliated third
    party; or (3) discloses nonpublic personal financial information about a former customer to a
    nonaffiliated third party, if that former customer has not had the opportunity to exercise an opt
    out right regarding that disclosure"; § 22.12(a): nothing "other than as described in the initial
    notice". A new recipient inside a category the old notice already described (categories are
    types of business, § 22.10(d)(1)), or a disclosure the old notice reserved the right to make
    (§ 22.10(g)), needs no revised notice.
    """
    described = [line for line in old.disclosures if _opt_out_relevant(line)]
    old_categories = {line.npi_category for line in described}
    old_recipients = {line.recipient_category for line in described}
    old_pairs = {(line.npi_category, line.recipient_category): line for line in described}
    old_former = {(line.npi_category, line.recipient_category) for line in described if line.about_former_customers}
    changes: list[PolicyChange] = []

    def change(kind: PolicyChangeKind, required: bool, line: PolicyDisclosure, cite: str, message: str, recipient: str | None = None) -> None:
        changes.append(
            PolicyChange(
                kind=kind,
                requires_revised_notice=required,
                npi_category=line.npi_category,
                recipient_category=line.recipient_category,
                recipient=recipient,
                citation=cite,
                message=message,
            )
        )

    for line in new.disclosures:
        pair = (line.npi_category, line.recipient_category)
        what = f"{line.npi_category!r} to {line.recipient_category!r}"
        if not line.recipient_kind.is_nonaffiliated:
            if not any(
                o.npi_category == line.npi_category and o.recipient_category == line.recipient_category and not o.recipient_kind.is_nonaffiliated
                for o in old.disclosures
            ):
                change(
                    PolicyChangeKind.AFFILIATE_DISCLOSURE_ADDED,
                    False,
                    line,
                    f"{CITE_REVISED}(b); {CITE_CONTENT}(b)(3)",
                    f"New disclosure of {what} (affiliate): no revised notice; the next notice lists it.",
                )
            continue
        if line.exception is not DisclosureException.NONE:
            if not any(o.npi_category == line.npi_category and o.recipient_category == line.recipient_category and o.exception is line.exception for o in old.disclosures):
                change(
                    PolicyChangeKind.EXCEPTED_DISCLOSURE_ADDED,
                    False,
                    line,
                    f"{CITE_REVISED}(b)",
                    f"New disclosure of {what} under the {line.exception.value.replace('_', ' ')} exception: no revised notice.",
                )
            continue
        if line.reserved_only:
            if pair not in old_pairs:
                change(
                    PolicyChangeKind.RESERVATION_ADDED,
                    False,
                    line,
                    f"{CITE_CONTENT}(g)",
                    f"New reservation of the right to disclose {what}: a revised notice is needed only before the disclosure itself.",
                )
            continue
        if line.about_former_customers and pair not in old_former:
            change(
                PolicyChangeKind.FORMER_CUSTOMERS_NEWLY_DISCLOSED,
                True,
                line,
                f"{CITE_REVISED}(b)(3)",
                f"Former customers' information newly disclosed ({what}): revised notice and opportunity to opt out first.",
            )
        if line.npi_category not in old_categories:
            change(
                PolicyChangeKind.NEW_NPI_CATEGORY,
                True,
                line,
                f"{CITE_REVISED}(b)(1)",
                f"New category of information {line.npi_category!r} disclosed to a nonaffiliated third party.",
            )
        elif line.recipient_category not in old_recipients:
            change(
                PolicyChangeKind.NEW_RECIPIENT_CATEGORY,
                True,
                line,
                f"{CITE_REVISED}(b)(2)",
                f"New category of nonaffiliated third party {line.recipient_category!r}.",
            )
        elif pair not in old_pairs:
            change(
                PolicyChangeKind.NEW_CATEGORY_RECIPIENT_COMBINATION,
                True,
                line,
                f"{CITE_REVISED}(a)",
                f"{what} was not described in the earlier notice (each part was, but not together).",
            )
        elif old_pairs[pair].reserved_only:
            change(
                PolicyChangeKind.NOW_DISCLOSED_AS_RESERVED,
                False,
                line,
                f"{CITE_CONTENT}(g)",
                f"{what} is now disclosed as the earlier notice reserved the right to: no revised notice.",
            )
        else:
            for name in line.recipients:
                if name not in old_pairs[pair].recipients:
                    change(
                        PolicyChangeKind.NEW_RECIPIENT_ALREADY_DESCRIBED,
                        False,
                        line,
                        f"{CITE_REVISED}(b)(2); {CITE_CONTENT}(d)(1)",
                        f"New recipient {name!r} belongs to the category {line.recipient_category!r} the earlier notice "
                        "already described: no revised notice.",
                        recipient=name,
                    )
    for line in old.disclosures:
        if not any(
            o.npi_category == line.npi_category
            and o.recipient_category == line.recipient_category
            and o.recipient_kind.is_nonaffiliated == line.recipient_kind.is_nonaffiliated
            for o in new.disclosures
        ):
            change(
                PolicyChangeKind.DISCLOSURE_REMOVED,
                False,
                line,
                CITE_REVISED,
                f"No longer disclosed: {line.npi_category!r} to {line.recipient_category!r}; the next notice reflects it.",
            )
    added = sorted(set(new.collects) - set(old.collects))
    removed = sorted(set(old.collects) - set(new.collects))
    if added or removed:
        changes.append(
            PolicyChange(
                kind=PolicyChangeKind.COLLECTION_CHANGED,
                requires_revised_notice=False,
                citation=f"{CITE_CONTENT}(b)(1)",
                message="Categories collected changed (added: "
                + (", ".join(added) or "none")
                + "; removed: "
                + (", ".join(removed) or "none")
                + "): the next notice reflects it.",
            )
        )
    return PolicyDiff(
        old_version=old.version_id,
        new_version=new.version_id,
        revised_notice_required=any(c.requires_revised_notice for c in changes),
        changes=changes,
        citation=CITE_REVISED,
    )


# ============================================================================================
# Notice content
# ============================================================================================


def simplified_notice_permitted(policy: PrivacyPolicyVersion) -> bool:
    """28 TAC § 22.10(a): a covered entity "that does not disclose, and does not reserve the right to
    disclose, nonpublic personal financial information about customers or former customers to
    nonaffiliated third parties except as authorized under § 22.18 … and § 22.19" may give a
    simplified notice."""
    return not any(
        line.recipient_kind.is_nonaffiliated and not line.exception.exempts_notice for line in policy.disclosures
    )


def _finding(item: str, problem: str, message: str) -> LintFinding:
    return LintFinding(item=f"§ 22.10{item}", citation=f"{CITE_CONTENT}{item}", problem=problem, message=message)  # type: ignore[arg-type]


def lint_notice(notice: PrivacyNotice, policy: PrivacyPolicyVersion | None = None) -> NoticeLintResult:
    """Which items required by 28 TAC § 22.10 are missing from a privacy notice.

    Full notice, § 22.10(b): "(1) The categories of nonpublic personal financial information that the
    covered entity collects"; "(2) … discloses" (with examples, (2)(A)–(C)); "(3) The categories of
    affiliates and nonaffiliated third parties to whom the covered entity discloses" (types of
    business with illustrative examples, (d)); "(4)" former customers; "(5)" service providers and
    joint marketers under § 22.17 (and (e)); "(6) An explanation of the consumer's right … to opt
    out …, including the methods"; "(7)" FCRA affiliate-sharing notices; "(8)" confidentiality and
    security — who has access (A) and whether security practices are in place (B); "(9)" the
    disclosures "as permitted by law" of subsection (c).
    Simplified notice, § 22.10(a): the nondisclosure policy and (b)(1), (b)(8), (b)(9) and (c).

    With the policy the notice describes, items apply as the policy requires and the notice is
    checked against it; without it, every item applies.
    """
    findings: list[LintFinding] = []
    required: list[str] = []

    def need(item: str) -> None:
        required.append(f"§ 22.10{item}")

    if notice.format == "simplified":
        need("(a)(1)")
        if policy is not None and not simplified_notice_permitted(policy):
            findings.append(
                _finding(
                    "(a)",
                    "not_permitted",
                    f"Policy {policy.version_id} discloses (or reserves the right to disclose) to nonaffiliated third "
                    "parties outside §§ 22.18–22.19: a simplified notice is not permitted.",
                )
            )
        if not notice.nondisclosure_statement:
            findings.append(_finding("(a)(1)", "missing", "The statement of the nondisclosure policy is missing."))
        _check_collected(notice, findings, need)
        _check_security(notice, findings, need)
        _check_exceptions_statement(notice, findings, need, applies=True)
        return NoticeLintResult(notice_id=notice.notice_id, format=notice.format, ok=not findings, required_items=required, findings=findings)

    lines = policy.disclosures if policy is not None else []
    disclosed_lines = [l for l in lines if not l.exception.exempts_notice]  # noqa: E741
    nonaffiliated_no_exception = [l for l in lines if l.recipient_kind.is_nonaffiliated and l.exception is DisclosureException.NONE]  # noqa: E741
    sp_jm = [l for l in lines if l.exception is DisclosureException.SERVICE_PROVIDER_JOINT_MARKETING]  # noqa: E741
    exempt = [l for l in lines if l.exception.exempts_notice]  # noqa: E741

    _check_collected(notice, findings, need)

    if policy is None or disclosed_lines:
        need("(b)(2)")
        if not notice.categories_disclosed and not notice.reserves_right_to_disclose_all:
            findings.append(_finding("(b)(2)", "missing", "The categories of information disclosed are missing."))
        elif not notice.reserves_right_to_disclose_all:
            for cat in notice.categories_disclosed:
                if not cat.examples:
                    findings.append(
                        _finding("(b)(2)(A)", "incomplete", f"Category {cat.name!r} has no examples; general terms alone do not categorize ((b)(2)(B)).")
                    )
        if policy is not None and not notice.reserves_right_to_disclose_all:
            named = {c.name for c in notice.categories_disclosed}
            for cat in sorted({l.npi_category for l in disclosed_lines} - named):  # noqa: E741
                findings.append(_finding("(b)(2)", "inconsistent_with_policy", f"The policy discloses {cat!r}; the notice does not list it."))

        need("(b)(3)")
        if not notice.recipient_categories:
            findings.append(_finding("(b)(3)", "missing", "The categories of affiliates and nonaffiliated third parties are missing."))
        for rc in notice.recipient_categories:
            if not rc.examples:
                findings.append(
                    _finding("(d)(2)", "incomplete", f"Recipient category {rc.name!r} has no illustrative examples of lines of business.")
                )
        if policy is not None:
            named = {r.name for r in notice.recipient_categories}
            for rc_name in sorted({l.recipient_category for l in disclosed_lines if l.exception is DisclosureException.NONE} - named):  # noqa: E741
                findings.append(
                    _finding("(b)(3)", "inconsistent_with_policy", f"The policy discloses to {rc_name!r}; the notice does not list that category.")
                )

    need("(b)(4)")
    former = notice.former_customers
    if former is None or (not former.discloses_none and not former.categories):
        findings.append(_finding("(b)(4)", "missing", "What is disclosed about former customers, and to whom, is missing."))
    elif policy is not None and former.discloses_none and any(l.about_former_customers and not l.exception.exempts_notice for l in lines):  # noqa: E741
        findings.append(_finding("(b)(4)", "inconsistent_with_policy", "The notice says nothing is disclosed about former customers; the policy does."))

    if policy is None or sp_jm:
        if policy is not None or notice.service_provider_joint_marketing is not None:
            need("(b)(5)")
            section = notice.service_provider_joint_marketing
            if section is None or not section.categories or not section.third_party_categories:
                findings.append(
                    _finding("(b)(5)", "missing", "The separate description of information disclosed under § 22.17 and the categories of contracted third parties is missing.")
                )
            elif not section.states_service_provider_or_joint_marketer:
                findings.append(_finding("(e)(2)", "incomplete", "State whether the third party is a service provider or a joint marketer."))

    if policy is None or nonaffiliated_no_exception:
        need("(b)(6)")
        opt = notice.opt_out
        if opt is None or not opt.explanation:
            findings.append(_finding("(b)(6)", "missing", "The explanation of the right to opt out is missing."))
        elif not opt.methods:
            findings.append(_finding("(b)(6)", "incomplete", "The methods by which the consumer may opt out are missing."))

    if policy is not None and policy.fcra_affiliate_sharing:
        need("(b)(7)")
        if not notice.fcra_affiliate_notice:
            findings.append(_finding("(b)(7)", "missing", "The FCRA § 603(d)(2)(A)(iii) affiliate-sharing opt-out notice is missing."))

    _check_security(notice, findings, need)
    _check_exceptions_statement(notice, findings, need, applies=policy is None or bool(exempt))
    return NoticeLintResult(notice_id=notice.notice_id, format=notice.format, ok=not findings, required_items=required, findings=findings)


def _check_collected(notice: PrivacyNotice, findings: list[LintFinding], need) -> None:  # type: ignore[no-untyped-def]
    need("(b)(1)")
    if not notice.categories_collected:
        findings.append(_finding("(b)(1)", "missing", "The categories of information collected are missing."))


def _check_security(notice: PrivacyNotice, findings: list[LintFinding], need) -> None:  # type: ignore[no-untyped-def]
    need("(b)(8)")
    section = notice.confidentiality_security
    if section is None or (not section.who_has_access and not section.security_practices_statement):
        findings.append(_finding("(b)(8)", "missing", "The confidentiality and security policies are missing."))
        return
    if not section.who_has_access:
        findings.append(_finding("(b)(8)(A)", "incomplete", "Describe in general terms who is authorized to have access."))
    if not section.security_practices_statement:
        findings.append(_finding("(b)(8)(B)", "incomplete", "State whether security practices and procedures are in place."))


def _check_exceptions_statement(notice: PrivacyNotice, findings: list[LintFinding], need, *, applies: bool) -> None:  # type: ignore[no-untyped-def]
    if not applies:
        return
    need("(b)(9)")
    if not notice.exceptions_statement:
        findings.append(
            _finding("(b)(9)", "missing", "State that disclosures are made to other affiliated or nonaffiliated third parties as permitted by law (§ 22.10(c)).")
        )
