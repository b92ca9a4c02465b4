"""Builders for the issue-12 state-row tests: the default event of ``builders``, with the licensee's size and
licences (``employees``, ``annual_revenue_usd``, ``licensed_states``) where a test gives them."""

from __future__ import annotations

from typing import Any

from models.incident import IncidentIntake
from tests.rules.builders import intake_data

#: JURISDICTIONS.md, "Commissioner notice after a cybersecurity event", the rows quoted by the tests.
ROW = {
    "AK": "AK | AS 21.23.280 (in force 2025-01-01) | 3 business days after the licensee determines | domicile / "
    "home-state trigger has **no material-harm condition** (domestic insurer, or producer whose home state is AK); "
    "non-domicile: 250 rule; notice may be withheld on a federal law-enforcement instruction | verified",
    "IL": "IL | 215 ILCS 215/20 (P.A. 103-142, eff. 2024-01-01) | 3 business days after determination | domicile "
    "rule; 250 rule; assuming insurer 3 business days | verified",
    "ME": "ME | 24-A M.R.S. § 2266 | 3 business days after determination | **every Maine-resident licensee, whatever "
    "the number of residents affected**; non-residents: 250 rule; filed on the Bureau's online form | verified",
    "MN": "MN | Minn. Stat. § 60A.9853 | **5 business days** from determination | small-licensee exemption "
    "(§ 60A.9856) does **not** cover notification; filed through the Commerce reporting page | verified (clock)",
    "MS": "MS | Miss. Code § 83-5-801 ff. | 3 business days after determining | < 50 employees exempt from the "
    "program sections only, not from notice | verified",
    "NH": "NH | RSA 420-P:6 | 3 business days of determination | domicile rule; 250 rule | verified",
    "OH": "OH | ORC 3965.04 | 3 business days after determination | small-licensee exemptions (ORC 3965.07) do not "
    "cover reporting | verified",
    "OK": "OK | 36 O.S. § 675 | 3 business days from determination | domicile rule; 250 rule; licensees under $5M "
    "gross annual revenue exempt from the act (department page) | verified",
    "RI": "RI | R.I. Gen. Laws § 27-1-47 (eff. 2025-01-01) | 3 business days from determination | **domestic insurers "
    "only**; no 250 rule: notice when another law requires government notice OR material harm is reasonably likely "
    "| verified",
    "VT": "VT | 9 V.S.A. § 2435; DFR guidance | no insurance-act clock: **Department of Financial Regulation within 14 "
    "business days** of knowing or reasonably believing a resident was affected (or when consumers are notified, if "
    "sooner — § 2435(b)(3), reported) | **one Vermont resident** is enough | verified (14 business days)",
    "NY": "NY | 23 NYCRR 500.17 | 72 hours after determining (extortion payment: 24 hours, explanation in 30 days — "
    "reported) | a different regime (DFS): every covered entity, incl. events at affiliates and third-party service "
    "providers | verified (72 h)",
    "CT": "CT | Conn. Gen. Stat. § 38a-38 | 3 business days after first determination (text seen only as quoted) | "
    "domicile rule; 250 rule | reported",
    "IN": "IN | IC 27-2-27-21 | main clock unread (assuming insurer: 3 business days, § 27-2-27-22) | consumer notice "
    "under IC 24-4.9-3-3: 45 days after discovery | reported",
    "HI": "HI | HRS ch. 431 art. 3B | main clock unread (assuming insurer: 3 business days, § 431:3B-305) | producers "
    'of record "as soon as practicable" (§ 431:3B-306) | reported',
    "KY": "KY | KRS 304.3-750 to -768 | \"within three days\" (unit unread) | licensees with < 50 employees exempt from "
    "the whole act (department page); filed through the department's eServices | reported",
    "ND": "ND | N.D.C.C. § 26.1-02.2-05 | older text 3 business days; 2025 SB 2088 replaces it with **72 hours** | "
    "domicile rule; 250 rule | reported — apply 72 hours + counsel review",
}

#: JURISDICTIONS.md "Terms".
TERMS = (
    '"domicile rule" = the state is the insurer\'s domicile or the producer\'s home state AND a reasonable likelihood '
    'of material harm; "250 rule" = the licensee reasonably believes 250 or more of the state\'s residents are '
    "involved AND either a law requires notice to a government body or material harm is reasonably likely. "
    "Exemptions that remove notice (OK verified; KY reported, so counsel confirms) need the licensee's size "
    "(employees, revenue) in its profile; those that do not (MN, OH, MS) must not be applied to notice. No insurance "
    "act was found for OR, TX, NE, AR, AZ, MT, CO, KS, WV, NC, GA, UT, CA: there the general breach law below governs."
)


def event(
    *,
    employees: int | None = None,
    revenue: int | None = None,
    licensed: list[str] | None = None,
    **kwargs: Any,
) -> IncidentIntake:
    data = intake_data(**kwargs)
    for field, value in (("employees", employees), ("annual_revenue_usd", revenue), ("licensed_states", licensed)):
        if value is not None:
            data["licensee"][field] = value
    return IncidentIntake.model_validate(data)
