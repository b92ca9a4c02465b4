"""One detector of raw nonpublic personal information in free text.

The ledger's ``guard_data``, the document renderers and the workflows' update validators all ask
it the same question: does this text carry an SSN, a payment card number, an e-mail address, a
telephone number or a date of birth? It answers with the kind and the position, never the value,
so an error built from it can be logged and returned without leaking what it found.

Kept to the standard library's ``re`` (no I/O, no clock): workflow code calls it inside update
validators, in the Temporal sandbox.

What counts, and what does not (docs/ledger-format.md §2, docs/delivery.md "No NPI in documents"):

* SSN — ``078-05-1120``, ``078.05.1120``, ``078 05 1120``, also glued to letters
  (``078-05-1120x``, ``SSN078-05-1120``); nine bare digits only when they stand alone or near an
  SSN word ("SSN", "social security", "TIN", …). Numbers the SSA never issues (area 000, 666;
  group 00; serial 0000) are not taken for SSNs, so placeholders such as ``000-00-0000`` pass;
  area 9xx counts only in the ITIN group ranges.
* payment card — 13 to 19 digits, ungrouped or in the printed groupings (4-4-4-4[-3], 4-6-5,
  4-6-4), first digit 2–6 (the card networks' ranges), passing the Luhn check.
* e-mail address — ``name@domain.tld``.
* telephone — US numbers: ``(615) 555-0100``, ``615-555-0100``, ``615.555.0100``,
  ``615 555 0100``, ``+1 615 555 0100``, ``1-800-555-0134``.
* date of birth — a date after a birth word ("DOB 04/12/1961", "born 1961-04-12") or right after
  a person's name ("John Smith, 04/12/1961"). A date alone is an event date, not NPI.

Hex digests (32 or more hex digits, e.g. ``sha256:…``, ``hmac-sha256:…``), UUIDs and generated
ids (a lowercase hex run of 14 or more characters with a letter among them, standing alone, such
as the data key id ``dk-3777715728143f817d5f-1``) are skipped: their digit runs are not numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

KINDS = ("ssn", "payment_card", "email", "phone", "date_of_birth")

_WHAT = {
    "ssn": "a Social Security number",
    "payment_card": "a payment card number",
    "email": "an e-mail address",
    "phone": "a telephone number",
    "date_of_birth": "a date of birth",
}
_ADVICE = {
    "ssn": "refer to a consumer by a digest or a count, never by the number",
    "payment_card": "refer to an account by a digest or a count, never by the number",
    "email": "a licensee's own contact details go in the contact fields, a consumer's nowhere",
    "phone": "a licensee's own contact details go in the contact fields, a consumer's nowhere",
    "date_of_birth": "leave the date of birth out; an event date does not go next to a person's name",
}


@dataclass(frozen=True)
class NpiMatch:
    """Where raw NPI was found in a text: its kind and the span ``text[start:end]``."""

    kind: str  # "ssn" | "payment_card" | "email" | "phone" | "date_of_birth"
    start: int
    end: int


class NpiFound(ValueError):
    """A free-text field carries raw NPI; the message names the field and the kind, not the value."""

    def __init__(self, field: str, match: NpiMatch) -> None:
        self.field = field
        self.kind = match.kind
        self.match = match
        super().__init__(describe(field, match))

    def __reduce__(self) -> tuple[type[NpiFound], tuple[str, NpiMatch]]:
        return (NpiFound, (self.field, self.match))


# =============================================================================================
# Patterns
# =============================================================================================

# Digests and UUIDs: their digits are not numbers. Masked (same length) before anything else.
_NOT_A_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,})(?![0-9A-Za-z])"
)
# Identifiers noticeflow generates (data key ids, key ids, digests cut short): a lowercase hex run of
# 14 or more characters with at least one letter, standing alone. 13 card digits never fit
# in a shorter run with a letter; a card number is written with digits, so a run that mixes
# in hex letters is an id whose digits happened to line up.
_HEX_ID = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])[0-9a-f]{14,}(?![0-9A-Za-z])")
_ONLY_A_DIGEST = re.compile(r"(?:[a-z0-9-]{1,32}:)?[0-9a-fA-F]{32,}")

# Only letters may touch a number; a digit or a digit-and-separator next to it means the digits
# belong to a longer number (a date, a cite, an id).
_SEP = r"[-.\u2010-\u2015]"
_SSN_FORMATTED = re.compile(
    rf"(?<!\d)(?<!\d{_SEP})(?<!\d )(\d{{3}})({_SEP}|[ \u00a0])(\d{{2}})\2(\d{{4}})(?!\d)(?!{_SEP}\d)"
)
_NINE_DIGITS = re.compile(r"(?<!\d)(?<!\d[-.])(\d{3})(\d{2})(\d{4})(?!\d)(?![-.]\d)")
_NINE_ALONE = re.compile(r"[\s\W_]*\d{9}[\s\W_]*")
_SSN_WORD = re.compile(
    r"(?i:\bssns?|\bs\.s\.n\b\.?|\bss\s*#|\bss\s*no\b|\bsocial[\s-]+security|\bsoc\.?\s*sec\b|"
    r"\btaxpayer[\s-]+id)|(?:\bI?TIN\b)"
)
_SSN_WORD_BEFORE = 40
_SSN_WORD_AFTER = 25

_DIGIT_GROUPS = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

_PHONE = re.compile(
    r"(?<!\d)(?<!\d[-.])"
    r"(?:\+?1[ \u00a0.-]?)?"
    r"(?:\(\s*[2-9]\d\d\s*\)[ \u00a0]?|[2-9]\d\d[ \u00a0.-])"
    r"[2-9]\d\d[ \u00a0.-]\d{4}"
    r"(?!\d)(?![-.]\d)"
)

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = re.compile(
    r"(?<!\d)(?<!\d[-./])(?:"
    r"(?:0?[1-9]|1[0-2])(?P<s1>[-/.])(?:0?[1-9]|[12]\d|3[01])(?P=s1)(?P<y1>(?:1[89]|20)\d\d|\d\d)"  # 04/12/1961, 4-12-61
    r"|(?:1[89]|20)\d\d(?P<s2>[-/.])(?:0[1-9]|1[0-2])(?P=s2)(?:0[1-9]|[12]\d|3[01])"  # 1961-04-12
    rf"|{_MONTH}\.?[ \u00a0]+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?[ \u00a0]+(?:1[89]|20)\d\d"  # April 12, 1961
    rf"|(?:0?[1-9]|[12]\d|3[01])[ \u00a0]+{_MONTH}\.?,?[ \u00a0]+(?:1[89]|20)\d\d"  # 12 April 1961
    r")(?!\d)(?![-./]\d)",
    re.IGNORECASE,
)
_BIRTH_WORD_BEFORE = re.compile(
    r"(?i:\bdob\b|\bd\.o\.b\b\.?|\bdate[ \u00a0]+of[ \u00a0]+birth|\bbirth[ \u00a0-]*date|\bbirthday|\bborn)"
    r"[\s:#=,()\-\u2013]*(?:(?:is|was|on|in|of)[ \u00a0]+)*$"
)
_BIRTH_WORD_AFTER = re.compile(r"^[\s,(\-\u2013]*(?i:dob\b|d\.o\.b\b|date[ \u00a0]+of[ \u00a0]+birth|birth[ \u00a0-]*date)")
_NAME_TOKEN = r"(?:[A-Z][a-z'\u2019]+(?:-[A-Z][a-z'\u2019]+)?\.?|[A-Z]\.)"
_NAME_BEFORE = re.compile(rf"({_NAME_TOKEN}(?:,?[ \u00a0]+{_NAME_TOKEN}){{0,5}})[ \u00a0]*[,:(\-\u2013]?[ \u00a0]*$")
# Capitalised words that make a phrase not a person's name: function words, calendar words,
# words of organisations and places. A date after them is an event date.
_NOT_NAME_WORDS = frozenset(
    """
    a an and as at by for from in of on or since the to until till after before between during
    dated date due effective updated filed sent received discovered determined reported notified
    version item section page notice report letter update amendment finding exhibit schedule
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    inc llc llp lp ltd co corp corporation company companies mutual insurance insurer insurers
    assurance casualty life health fund trust holdings group partners association services service
    systems consulting solutions technologies bank agency department dept bureau division office
    commission commissioner police sheriff court county city state states federal national
    university hospital center centre
    north south east west new rhode island carolina dakota hampshire jersey york mexico puerto
    rico district columbia alabama alaska arizona arkansas california colorado connecticut
    delaware florida hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland
    massachusetts michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma
    oregon pennsylvania tennessee texas utah vermont washington wisconsin wyoming
    """.split()
)
_NAME_WORD = re.compile(_NAME_TOKEN)

# Cheap necessary conditions, so a ledger of a million short values is scanned quickly: each
# finder runs only where its kind could be.
_FOUR_DIGITS = re.compile(r"(?:\D*\d){4}")
_CARD_HINT = re.compile(r"(?:\D*\d){13}")
_SSN_HINT = re.compile(r"\d{3}([-.\u2010-\u2015 \u00a0]?)\d{2}\1\d{4}")
_PHONE_HINT = re.compile(r"\d{3}[ \u00a0.-]\d{4}")
_DATE_HINT = re.compile(rf"\d[-/.]\d|{_MONTH}\.?[ \u00a0]+\d|\d[ \u00a0]+{_MONTH}", re.IGNORECASE)
_DOB_CONTEXT_HINT = re.compile(r"[A-Z][a-z]|(?i:dob|d\.o\.b|birth|born)")


# =============================================================================================
# Checks
# =============================================================================================


def _issued_ssn(area: str, group: str, serial: str) -> bool:
    """An SSN the SSA could have issued, or an ITIN (9xx with its group ranges)."""
    if area in ("000", "666") or group == "00" or serial == "0000":
        return False
    if area[0] == "9":
        g = int(group)
        return 50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99
    return True


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _card_grouping(lengths: list[int]) -> bool:
    if len(lengths) == 1:
        return True
    if all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4:
        return True  # 4-4-4-4, 4-4-4-4-3, 4-4-4-3, 4-4-4-1
    return len(lengths) == 3 and lengths[0] == 4 and lengths[1] == 6 and lengths[2] in (4, 5)  # Amex, Diners


def _hashes(match: re.Match[str]) -> str:
    return "#" * len(match.group())


def _masked(text: str) -> str:
    if len(text) >= 32:  # a digest or a UUID needs 32 characters
        text = _NOT_A_NUMBER.sub(_hashes, text)
    return _HEX_ID.sub(_hashes, text)


def _ssns(text: str) -> list[NpiMatch]:
    found = [
        NpiMatch("ssn", m.start(), m.end())
        for m in _SSN_FORMATTED.finditer(text)
        if _issued_ssn(m.group(1), m.group(3), m.group(4))
    ]
    alone = _NINE_ALONE.fullmatch(text) is not None
    for m in _NINE_DIGITS.finditer(text):
        if not _issued_ssn(m.group(1), m.group(2), m.group(3)):
            continue
        near = text[max(0, m.start() - _SSN_WORD_BEFORE) : m.end() + _SSN_WORD_AFTER]
        if alone or _SSN_WORD.search(near):
            found.append(NpiMatch("ssn", m.start(), m.end()))
    return found


def _cards(text: str) -> list[NpiMatch]:
    found: list[NpiMatch] = []
    for run in _DIGIT_GROUPS.finditer(text):
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", run.group())]
        if sum(e - s for s, e in groups) < 13:
            continue
        base = run.start()
        i = 0
        while i < len(groups):
            hit = None
            for j in range(len(groups), i, -1):  # the longest window first
                window = groups[i:j]
                lengths = [e - s for s, e in window]
                if not 13 <= sum(lengths) <= 19 or not _card_grouping(lengths):
                    continue
                digits = "".join(run.group()[s:e] for s, e in window)
                if digits[0] in "23456" and _luhn_ok(digits):
                    hit = (j, NpiMatch("payment_card", base + window[0][0], base + window[-1][1]))
                    break
            if hit:
                i = hit[0]
                found.append(hit[1])
            else:
                i += 1
    return found


def _phones(text: str) -> list[NpiMatch]:
    return [NpiMatch("phone", m.start(), m.end()) for m in _PHONE.finditer(text)]


def _emails(text: str) -> list[NpiMatch]:
    return [NpiMatch("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _after_a_name(before: str) -> bool:
    """A person's name ends right before the date: two or more capitalised tokens (initials and
    titles count) that are not function, calendar, organisation or place words."""
    m = _NAME_BEFORE.search(before)
    if m is None:
        return False
    name: list[str] = []
    for token in reversed(_NAME_WORD.findall(m.group(1))):
        if token.rstrip(".").lower() in _NOT_NAME_WORDS:
            break
        name.append(token)
    return len(name) >= 2 and any(not t.endswith(".") or len(t) > 2 for t in name)


def _dates_of_birth(text: str) -> list[NpiMatch]:
    found: list[NpiMatch] = []
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - 60) : m.start()]
        after = text[m.end() : m.end() + 30]
        two_digit_year = m.group("y1") is not None and len(m.group("y1")) == 2
        birth_word = bool(_BIRTH_WORD_BEFORE.search(before) or _BIRTH_WORD_AFTER.match(after))
        if birth_word or (not two_digit_year and _after_a_name(before)):
            found.append(NpiMatch("date_of_birth", m.start(), m.end()))
    return found


def _finders(text: str) -> list[Callable[[str], list[NpiMatch]]]:
    """The finders whose kind could be in ``text``; earlier ones win where spans overlap (an
    e-mail address holding digits is one e-mail address)."""
    out: list[Callable[[str], list[NpiMatch]]] = []
    if "@" in text:
        out.append(_emails)
    if _CARD_HINT.match(text):
        out.append(_cards)
    if _SSN_HINT.search(text):
        out.append(_ssns)
    if _PHONE_HINT.search(text):
        out.append(_phones)
    if _DATE_HINT.search(text) and _DOB_CONTEXT_HINT.search(text):
        out.append(_dates_of_birth)
    return out


# =============================================================================================
# API
# =============================================================================================


def find_npi(text: str) -> list[NpiMatch]:
    """Every piece of raw NPI in ``text``, in order of position, spans not overlapping."""
    if ("@" not in text and not _FOUR_DIGITS.match(text)) or _ONLY_A_DIGEST.fullmatch(text):
        return []
    masked = _masked(text) if len(text) >= 14 else text
    taken: list[NpiMatch] = []
    for finder in _finders(masked):
        for match in finder(masked):
            if all(match.end <= t.start or match.start >= t.end for t in taken):
                taken.append(match)
    return sorted(taken, key=lambda m: (m.start, m.end))


def describe(field: str, match: NpiMatch) -> str:
    """The refusal for one match: the field and the kind, never the value."""
    return (
        f"{field}: looks like {_WHAT[match.kind]} (characters {match.start}–{match.end}); "
        f"{_ADVICE[match.kind]} — raw nonpublic personal information never goes into a ledger entry or a notice"
    )


def npi_problem(field: str, text: str) -> str | None:
    """A sentence naming ``field`` and the kind of the first NPI found in ``text``, or None."""
    matches = find_npi(text)
    return describe(field, matches[0]) if matches else None


def guard_text(field: str, text: str) -> None:
    """Raise :class:`NpiFound` if ``text`` carries raw NPI."""
    matches = find_npi(text)
    if matches:
        raise NpiFound(field, matches[0])


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def scan_fields(value: object, path: str = "") -> tuple[str, NpiMatch] | None:
    """The first string in ``value`` (dicts, lists and tuples walked in order) that carries raw
    NPI, with its dotted path (``findings[0].summary``), or None."""
    if isinstance(value, str):
        matches = find_npi(value)
        return (path, matches[0]) if matches else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            hit = scan_fields(item, _join(path, key))
            if hit:
                return hit
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            hit = scan_fields(item, f"{path}[{i}]")
            if hit:
                return hit
    return None
