"""The privacy check: every value about to be loaded is scanned before anything is written.

Two tests per value:
1. Shapes of personal data: emails, phone numbers, payment card numbers (13-19 digits passing
   Luhn, with a card-network first digit), IBANs (passing mod-97), US social security numbers
   (area not 000/666/9xx) and UK national insurance numbers.
2. Equality with a value of the production export in a field not marked `keep` (compared as
   keyed fingerprints, see keyed.Keyed.fingerprint).

Synthetic data is held to the same check, which it passes because fakes are fictional by
construction (fakes.py): emails at example.com/.org/.net (RFC 2606; also *.example, *.test,
*.invalid) and phones in the 555-0100..0199 range are allowed; nothing else is.

Limits, stated so nobody relies on more: the equality test covers text values of 6 or more
characters except dates, times and short numbers (fewer than 9 digits): a rounded amount or a
shifted date legitimately equals another record's real one, so those are protected by their rule
alone. A phone *shape* needs a leading + or a separator between digit groups: a bare 10-digit run
is not taken for a phone (order numbers look like that), but a bare run equal to an exported value
is caught by the equality test, and a bare 13-19 digit run is still checked as a card.
Values of `keep` fields get the shape scan but not the equality test: keeping them is the point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import PrivacyError
from .fakes import RESERVED_EMAIL_DOMAINS
from .keyed import Keyed

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost") + tuple(
    "." + d for d in RESERVED_EMAIL_DOMAINS)
# Removed before looking for phones and cards: they are digit groups with separators too.
NOT_PHONES = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b")
PHONE = re.compile(r"(?<![\w.+\-])(\+?\(?\d[\d ().\-]{7,}\d)(?:\s*(?:x|ext\.?)\s*\d{1,6})?(?![\w\-])")
CARD = re.compile(r"(?<!\w)(\d(?:[ \-]?\d){12,18})(?!\w)")
IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")
SSN = re.compile(r"(?<![\w\-])(\d{3})-(\d{2})-(\d{4})(?![\w\-])")
NINO = re.compile(r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                  r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
DATE_OR_TIME = re.compile(r"^\d{4}-\d{2}(-\d{2})?([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
                          r"|^\d{1,2}:\d{2}(:\d{2})?$|^\d{1,2}/\d{1,2}(/\d{2,4})?$")
SHORT_NUMBER = re.compile(r"^[+-]?\d{1,8}([.,]\d+)?$")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _fictional_phone(digits: str) -> bool:
    national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    return len(national) == 10 and national[3:8] == "55501"


def finding(value: Any) -> str | None:
    """What personal data `value` looks like, or None. Says the kind, never the value."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(abs(value))
        return "a payment card number" if 13 <= len(text) <= 19 and text[0] in "23456" and luhn(text) \
            else None
    if not isinstance(value, str):
        return None
    for m in EMAIL.finditer(value):
        domain = m.group(1).lower()
        if domain not in RESERVED_EMAIL_DOMAINS and not domain.endswith(RESERVED_SUFFIXES):
            return "an email address"
    for m in IBAN.finditer(value):
        if iban_valid(m.group(1)):
            return "an IBAN"
    if NINO.search(value):
        return "a national insurance number"
    for m in SSN.finditer(value):
        area, group, serial = m.groups()
        if area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000":
            return "a social security number"
    return _digit_findings(NOT_PHONES.sub(" ", value))


def _digit_findings(text: str) -> str | None:
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if digits[0] in "23456" and luhn(digits):
            return "a payment card number"
    for m in PHONE.finditer(text):
        raw = m.group(1)
        digits = re.sub(r"\D", "", raw)
        separated = raw.startswith("+") or bool(re.search(r"\d[ ().\-]+\d", raw))
        if 10 <= len(digits) <= 15 and separated and not _fictional_phone(digits):
            return "a phone number"
    return None


def exact_candidate(value: Any) -> bool:
    """Whether a value takes part in the equality test (see the module's limits)."""
    return isinstance(value, str) and len(value) >= 6 and not DATE_OR_TIME.match(value) \
        and not SHORT_NUMBER.match(value)


class PrivacyCheck:
    """Checks the rows of one dataset in load order; the first finding refuses the dataset."""

    def __init__(self, dataset: str, keyed: Keyed | None = None, sensitive: set[int] | None = None,
                 keep: Iterable[str] = (), offset: int = 0) -> None:
        """`offset`: rows before the first one checked here (a chunk made by a worker)."""
        self.dataset = dataset
        self.keyed = keyed
        self.sensitive = sensitive or set()
        self.keep = frozenset(keep)
        self.rows = offset

    def check(self, row: Mapping[str, Any]) -> None:
        self.rows += 1
        for field, value in row.items():
            for leaf in _leaves(value):
                kind = finding(leaf)
                if kind is None and field not in self.keep and self.keyed is not None \
                        and exact_candidate(leaf) and self.keyed.fingerprint(leaf) in self.sensitive:
                    kind = "a value of the production export"
                if kind is not None:
                    raise PrivacyError(self.dataset, self.rows, field, f"looks like {kind}")


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    else:
        yield value
