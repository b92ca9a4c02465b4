"""The sample event's data besides its intake file: the investigation's findings, the responders,
and the affected consumers — a roster that agrees with the intake's figures.

The intake says, per state, how many consumers are affected, how many have an e-mail address on
file, how many lack sufficient contact information, and whether producers of record are known.
The roster built here has exactly those people (invented, deterministic from a seed): the consumer
notices reconcile the roster against the estimate, so a roster that does not add up would leave
them open — as it should.

``scale`` shrinks every figure (the crash test and the bench run many events at once); the
intake and the roster shrink together, so they still agree.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from typing import Any

#: The producer of record of each state's policyholders in the sample licensee's book.
PRODUCER_BY_STATE = {"TN": "P-1001", "KY": "P-1002", "DE": "P-1003"}
#: One policyholder in this many has no producer of record on file (sold direct).
DIRECT_SALE_EVERY = 40
#: Among consumers with an e-mail address, one in this many agreed to electronic notice (E-SIGN),
#: unless the state's row says e-mail is their primary channel.
E_SIGN_EVERY = 3

_FIRST = ["Avery", "Jordan", "Riley", "Quinn", "Morgan", "Parker", "Casey", "Taylor", "Emerson", "Rowan", "Hayden",
          "Sawyer", "Reese", "Dakota", "Skyler", "Finley", "Harper", "Logan", "Peyton", "Cameron"]
_LAST = ["Collins", "Price", "Sanders", "Mercer", "Hayes", "Lane", "Doyle", "Brooks", "Reed", "Whitaker", "Ellison",
         "Barlow", "Calloway", "Dunbar", "Fairchild", "Garrison", "Holloway", "Kincaid", "Langford", "Prescott"]
_STREETS = ["Elm Street", "Oak Avenue", "Church Street", "Market Street", "Main Street", "Walnut Street",
            "Cherry Lane", "Maple Drive", "Cedar Court", "Hillcrest Road"]
_CITIES = {
    "TN": [("Nashville", "372"), ("Franklin", "370"), ("Murfreesboro", "371"), ("Knoxville", "379"), ("Memphis", "381")],
    "MO": [("Columbia", "652"), ("Springfield", "658"), ("St. Louis", "631"), ("Kansas City", "641")],
    "DE": [("Wilmington", "198"), ("Dover", "199"), ("Newark", "197")],
    "KY": [("Lexington", "405"), ("Louisville", "402"), ("Bowling Green", "421")],
    "MI": [("Lansing", "489"), ("Detroit", "482"), ("Grand Rapids", "495")],
    "VA": [("Richmond", "232"), ("Norfolk", "235"), ("Roanoke", "240")],
    "OH": [("Columbus", "432"), ("Cleveland", "441"), ("Cincinnati", "452")],
    "TX": [("Austin", "787"), ("Houston", "770"), ("Dallas", "752"), ("San Antonio", "782")],
}
_COLUMNS = ["consumer_id", "state", "name", "email", "address_line1", "address_line2", "city", "region",
            "postal_code", "country", "electronic_consent", "producer_of_record"]


def scale_intake(intake: dict[str, Any], scale: float) -> dict[str, Any]:
    """The intake with every per-state figure multiplied by ``scale`` (at least one consumer per
    state, and no more without contact or with e-mail than there are consumers)."""
    if scale == 1.0:
        return intake
    rows = []
    for row in intake["affected"]:
        consumers = max(1, round(row["consumers"] * scale))
        rows.append({
            **row,
            "consumers": consumers,
            "with_email": min(consumers, round(row["with_email"] * scale)),
            "without_contact": min(consumers, round(row["without_contact"] * scale)),
            **({"notice_cost_usd": str(round(float(row["notice_cost_usd"]) * scale))} if row.get("notice_cost_usd") else {}),
        })
    return {**intake, "affected": rows}


def sample_roster(intake: dict[str, Any], *, seed: int = 1006, short_by: dict[str, int] | None = None) -> bytes:
    """The roster CSV for ``intake``'s affected states. ``short_by`` leaves out that many consumers
    of a state (duplicates the estimate counted twice), for a reconciliation to revise."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_COLUMNS)
    for row in intake["affected"]:
        state = row["state"]
        count = row["consumers"] - (short_by or {}).get(state, 0)
        no_contact = min(row["without_contact"], count)
        with_email = min(row["with_email"], count - no_contact)
        cities = _CITIES.get(state, [("Capital City", "000")])
        for n in range(1, count + 1):
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            consumer_id = f"D-{state}-{n:06d}"
            email = address = city = zip_code = ""
            consent = False
            if n > no_contact:
                city, prefix = cities[n % len(cities)]
                address = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}"
                zip_code = f"{prefix}{rng.randint(0, 99):02d}"
                if n <= no_contact + with_email:
                    email = f"{name.lower().replace(' ', '.')}.{n}@mail.example"
                    consent = bool(row.get("electronic_primary_channel")) or n % E_SIGN_EVERY == 0
            producer = ""
            if row.get("producers_of_record_known") and n % DIRECT_SALE_EVERY:
                producer = PRODUCER_BY_STATE.get(state, "P-1001")
            writer.writerow([consumer_id, state, name, email, address, "", city, state if address else "",
                             zip_code, "US" if address else "", "true" if consent else "false", producer])
    return out.getvalue().encode()


def _day(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment:%Y}"


def sample_findings(intake: dict[str, Any]) -> list[dict[str, Any]]:
    """The investigation's findings, each naming the report items (A)–(N) it supplies; their dates
    follow the intake's clock, so the report, the letters and the ledger tell one story. The
    internal review (J) and counsel's note are privileged: sealed, ledgered by digest only."""
    discovered = datetime.fromisoformat(intake["discovered_at"])
    provider_told = datetime.fromisoformat(intake["tpsp_notified_at"])
    began, ended = discovered - timedelta(days=6), discovered - timedelta(days=2)
    return [
        {"kind": "nature_and_scope", "report_items": ["B", "C"],
         "summary": "An unauthorized party used a vendor administrator's stolen password to reach the claims-imaging "
                    "vendor's file server and copied claim document images of policyholders residing in seven states. "
                    "The vendor stores and processes our claim images under contract; its monitoring flagged an unusual "
                    "outbound transfer, which its forensic firm confirmed."},
        {"kind": "compromise_period", "report_items": ["A", "H"],
         "summary": f"The vendor's file server was compromised from {_day(began)} until {_day(ended)}, when the vendor "
                    "cut off the access; the event began on the first of those days."},
        {"kind": "npi_involved", "report_items": ["G"],
         "summary": "The copied images include Social Security numbers, driver's license numbers and health information "
                    "submitted with claims. The files were encrypted, but the key was kept on the same server and was "
                    "taken too."},
        {"kind": "source_identified", "report_items": ["E"],
         "summary": "The vendor's forensic firm attributes the access to an external actor who obtained the "
                    "administrator's password by phishing; no insider was involved."},
        {"kind": "tpsp_investigation_confirmed", "report_items": ["B"],
         "summary": "We reviewed the vendor's forensic report and confirmed its findings: the vendor hosted the server "
                    "and managed its credentials, and it has completed its investigation."},
        {"kind": "information_recovered", "report_items": ["D"],
         "summary": "The copied files have not been recovered, and recovery is not expected; the vendor's forensic firm "
                    "monitors for any offer of the files."},
        {"kind": "law_enforcement_notified", "report_items": ["F"],
         "summary": f"The vendor reported the intrusion to the FBI's Internet Crime Complaint Center on "
                    f"{_day(provider_told)}, and we notified the FBI the same day. No police report was filed."},
        {"kind": "internal_review", "report_items": ["J"],
         "summary": "Privileged and confidential, prepared at the direction of counsel: our vendor-oversight review found "
                    "that the annual assessment of the claims-imaging vendor did not test administrator authentication, "
                    "and that the contract's requirement to keep encryption keys apart from the data was never verified.",
         "report_statement": "Our internal review found that our vendor-oversight procedures were followed, but that "
                             "the annual assessment of the vendor did not test administrator authentication or where "
                             "encryption keys were kept; the assessment now covers both."},
        {"kind": "security_restored", "report_items": ["K"],
         "summary": "The vendor disconnected the server, rotated every credential that could reach it and suspended "
                    "claim-file transfers; its forensic firm confirmed that the remaining systems are secure."},
        {"kind": "remediation", "report_items": ["K"],
         "summary": "Before transfers resume, the vendor must enforce multi-factor authentication on every administrator "
                    "account and keep encryption keys in a separate key-management service; both are now in our "
                    "contract with the vendor and in its annual assessment."},
        {"kind": "counsel_note",
         "summary": "Counsel: the Missouri and Kentucky clocks are only reported; file within 72 hours in both and "
                    "confirm each state's law before closure."},
    ]


#: The event's owner and backup: reminders and overdue alerts go to them by e-mail (business
#: contacts of the licensee's staff, not consumers').
RESPONDERS: dict[str, Any] = {
    "owner": {"responder_id": "c.hale", "name": "Corinne Hale, Privacy Officer", "email": "privacy.office@cumberland-mutual.example"},
    "backup": {"responder_id": "d.okafor", "name": "Daniel Okafor, Deputy General Counsel", "email": "legal.duty@cumberland-mutual.example"},
}
