"""Field rules applied to one exported row: the anonymised row, field by field.

Every rule is a pure function of (the value, the record's key, the caller's key), so seeding the
same export twice gives the same rows, and the same real value gets the same token or fake in every
dataset. Nulls stay null under every rule (a null tells nothing about a person).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from .fakes import MAKERS, new_faker
from .keyed import Keyed, canonical
from .rules_spec import Fake, Generalise, Hash, Keep, Mask, Null, Redact, Ref, Rule, ShiftDate, rule_name
from .schema import Schema
from .spec import DatasetSpec

FAKE_ATTEMPTS = 16


class Transformer:
    """The rules of one anonymised dataset, ready to apply to its rows."""

    def __init__(self, spec: DatasetSpec, keyed: Keyed, *, sensitive: set[int] | None = None,
                 synthetic_refs: Mapping[str, tuple[Schema, int, int]] | None = None,
                 parent_rules: Mapping[str, Rule] | None = None) -> None:
        """`sensitive`: fingerprints of the export's non-keep values, which a fake must never equal;
        `synthetic_refs`: per referenced synthetic dataset (schema, seed, row count);
        `parent_rules`: per referenced anonymised dataset, the rule of its key."""
        self.spec = spec
        self.keyed = keyed
        self.sensitive = sensitive or set()
        self.synthetic_refs = dict(synthetic_refs or {})
        self.parent_rules = dict(parent_rules or {})
        self._faker = new_faker(["en_US"])
        self._fake = functools.lru_cache(maxsize=65536)(self._fake_uncached)
        self._apply: dict[str, Callable[[Any, Any], Any]] = {
            f: self._bind(r) for f, r in spec.fields.items()}

    def row(self, src: Mapping[str, Any]) -> dict[str, Any]:
        record_key = src.get(str(self.spec.key))
        return {f: (None if src.get(f) is None else fn(src.get(f), record_key))
                for f, fn in self._apply.items()}

    def _bind(self, rule: Rule) -> Callable[[Any, Any], Any]:
        if isinstance(rule, Keep):
            return lambda v, k: v
        if isinstance(rule, Hash):
            return lambda v, k: self.keyed.token(v)
        if isinstance(rule, Fake):
            return lambda v, k: self._fake(rule.kind, canonical(v))
        if isinstance(rule, Redact):
            return lambda v, k: rule.value
        if isinstance(rule, Mask):
            return lambda v, k: mask(canonical(v), rule)
        if isinstance(rule, ShiftDate):
            return lambda v, k: shift_date(v, self._offset(k, rule.days))
        if isinstance(rule, Generalise):
            return lambda v, k: generalise(v, rule)
        if isinstance(rule, Null):
            return lambda v, k: None
        if isinstance(rule, Ref):
            return self._ref(rule)
        raise AssertionError(f"rule {rule_name(rule)} has no implementation")

    def _fake_uncached(self, kind: str, original: str) -> Any:
        """A fake chosen by the keyed hash of the original; a candidate equal to any value of the
        export is skipped (deterministically: the next attempt has its own hash)."""
        value: Any = None
        for attempt in range(FAKE_ATTEMPTS):
            seed = self.keyed.number(f"fake:{kind}:{attempt}", original)
            self._faker.seed_instance(seed)
            value = MAKERS[kind](self._faker, Random(seed))
            if not isinstance(value, str) or self.keyed.fingerprint(value) not in self.sensitive:
                return value
        return value   # the privacy check refuses it, naming the field

    def _offset(self, record_key: Any, days: int) -> int:
        """Per record, 1..days either way, never 0: every date of a record moves by the same
        amount, so intervals inside a record (ordered -> shipped) survive."""
        n = self.keyed.number("shift", record_key) % (2 * days)
        return n - days if n < days else n - days + 1

    def _ref(self, rule: Ref) -> Callable[[Any, Any], Any]:
        if rule.dataset in self.synthetic_refs:
            from .synthetic import key_at

            schema, seed, count = self.synthetic_refs[rule.dataset]
            return lambda v, k: key_at(schema, seed, self.keyed.number(f"ref:{rule.dataset}", v)
                                       % count) if count else None
        parent = self.parent_rules[rule.dataset]
        return self._bind(parent)


def mask(text: str, rule: Mask) -> str:
    """Keeps `keep_first` and `keep_last` characters; never more than a third of the value, so a
    short value is not kept whole by a rule written for long ones."""
    room = len(text) // 3
    first, last = min(rule.keep_first, room), min(rule.keep_last, room - min(rule.keep_first, room))
    middle = rule.char * (len(text) - first - last)
    return text[:first] + middle + (text[len(text) - last:] if last else "")


def shift_date(value: Any, days: int) -> Any:
    if isinstance(value, datetime):
        return (value + timedelta(days=days)).isoformat()
    if isinstance(value, date):
        return (value + timedelta(days=days)).isoformat()
    text = str(value)
    if len(text) == 10:
        return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
    return (datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(days=days)).isoformat()


def generalise(value: Any, rule: Generalise) -> Any:
    if rule.truncate is not None:
        text = value.isoformat() if isinstance(value, date | datetime) else str(value)
        day = date.fromisoformat(text[:10])
        if rule.truncate == "month":
            day = day.replace(day=1)
        elif rule.truncate == "year":
            day = day.replace(month=1, day=1)
        return day.isoformat()
    step = rule.round or 1.0
    number = float(value)
    rounded = round(number / step) * step
    return int(rounded) if float(step).is_integer() else round(rounded, 10)
