"""The field rules of an anonymised dataset, as typed values (a msgspec tagged union on `rule`).

A rule is written either as its name (`email = "hash"`) or as a table (`card = { rule = "mask",
keep_last = 4 }`). Every rule may carry `type`, the PostgreSQL column type the field gets when the
dataset is loaded into a database (text by default).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ColumnType = Literal["text", "integer", "bigint", "numeric", "double precision", "boolean", "date",
                     "timestamptz", "jsonb"]

# The fakes the `fake` rule can make. Each yields a value the privacy check accepts: emails at
# reserved domains, phones in the fictional 555-01xx range; there is deliberately no card, IBAN or
# national id fake (use mask, redact, hash or null for those).
FAKE_KINDS = ("name", "first_name", "last_name", "email", "phone", "address", "street_address",
              "city", "postcode", "company", "user_name", "text", "date_of_birth", "uuid")


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="rule"):
    type: ColumnType | None = None


class Keep(_Rule, tag="keep", frozen=True):
    """Copied as it is. Listed in every plan so a reviewer sees what leaves production unchanged."""


class Hash(_Rule, tag="hash", frozen=True):
    """A keyed HMAC token: one real value is one token in every dataset, so joins survive."""


class Fake(_Rule, tag="fake", frozen=True):
    """A fake of `kind`, chosen from the keyed hash of the original (one real value, one fake)."""

    kind: str


class Redact(_Rule, tag="redact", frozen=True):
    value: str = "[redacted]"


class Mask(_Rule, tag="mask", frozen=True):
    keep_last: Annotated[int, msgspec.Meta(ge=0)] = 4
    keep_first: Annotated[int, msgspec.Meta(ge=0)] = 0
    char: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] = "*"


class ShiftDate(_Rule, tag="shift_date", frozen=True):
    """Moves a date by a per-record offset of 1..days days either way (never 0)."""

    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30


class Generalise(_Rule, tag="generalise", frozen=True):
    """Rounds a number to a multiple of `round`, or truncates a date to `truncate`."""

    round: Annotated[float, msgspec.Meta(gt=0)] | None = None
    truncate: Literal["day", "month", "year"] | None = None


class Null(_Rule, tag="null", frozen=True):
    pass


class Ref(_Rule, tag="ref", frozen=True):
    """A reference to another dataset's key. To an anonymised dataset: the value gets that
    dataset's key rule (joins survive) and the subset follows it. To a synthetic dataset: the value
    is mapped, by its keyed hash, onto one of that dataset's generated keys."""

    dataset: str


Rule = Keep | Hash | Fake | Redact | Mask | ShiftDate | Generalise | Null | Ref
RULE_CLASSES: dict[str, type[_Rule]] = {
    "keep": Keep, "hash": Hash, "fake": Fake, "redact": Redact, "mask": Mask,
    "shift_date": ShiftDate, "generalise": Generalise, "null": Null, "ref": Ref,
}


def rule_name(rule: Rule) -> str:
    """The `rule = ...` name of a rule value."""
    return str(type(rule).__struct_config__.tag)


def describe(rule: Rule) -> str:
    """A one-line description for the plan: the rule and its non-default settings."""
    parts = [f"{k}={v}" for k in rule.__struct_fields__
             if (v := getattr(rule, k)) is not None and k != "type"]
    return rule_name(rule) + (f"({', '.join(parts)})" if parts else "")
