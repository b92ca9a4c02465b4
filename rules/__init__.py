"""Regulation rules: pure, deterministic functions over the models in ``models/``.

No I/O, no wall clock, no randomness — time is always an input — so workflow code may call them
directly. Every rule cites its section; ``rules.registry.RULES`` lists them all and
``docs/traceability.md`` maps each to its code and tests. Interpretations are explained in
``docs/rules.md``.

The entry points the workflows call:

* :func:`compute_obligations` — cybersecurity event → obligations per jurisdiction;
* :func:`classify_event` — RSMo § 375.1402(3), (12);
* :func:`deadline` — a statutory clock → the due instant (business days, holidays, time zones);
* :func:`decide_disclosure`, :func:`reasonable_opportunity`, :func:`health_authorization_status`,
  :func:`account_number_disclosure` — the privacy disclosure gate;
* :func:`diff_policies`, :func:`lint_notice`, :func:`annual_notice_schedule`,
  :func:`relationship_status` — privacy notices.
"""

from rules.calendar import DEFAULT_POLICY, deadline, is_business_day, state_zone
from rules.classification import classify_event
from rules.cyber import commissioner_report_items, compute_obligations
from rules.disclosure import (
    account_number_disclosure,
    decide_disclosure,
    delivery_gives_actual_notice,
    health_authorization_status,
    reasonable_opportunity,
)
from rules.errors import RuleInputError
from rules.jurisdictions import CYBER_JURISDICTIONS, jurisdiction_for
from rules.privacy_notices import diff_policies, lint_notice, simplified_notice_permitted
from rules.relationship import annual_notice_schedule, relationship_status

__all__ = [
    "CYBER_JURISDICTIONS",
    "DEFAULT_POLICY",
    "RuleInputError",
    "account_number_disclosure",
    "annual_notice_schedule",
    "classify_event",
    "commissioner_report_items",
    "compute_obligations",
    "deadline",
    "decide_disclosure",
    "delivery_gives_actual_notice",
    "diff_policies",
    "health_authorization_status",
    "is_business_day",
    "jurisdiction_for",
    "lint_notice",
    "reasonable_opportunity",
    "relationship_status",
    "simplified_notice_permitted",
    "state_zone",
]
