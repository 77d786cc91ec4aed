"""Keyed hashing: the one source of every deterministic choice in the data tier.

Two kinds of determinism, kept apart on purpose:
- *Seeds* of synthetic data come from the stack id and the dataset name (no secret), so a stack's
  synthetic data is the same every time it is seeded, on any machine.
- *Tokens, fakes, subsets and shifts* of anonymised data come from an HMAC keyed with a secret the
  caller hands in. Without the key nobody can rebuild the mapping from a real value to its token
  by hashing guesses (a plain hash of an email is an email lookup table away from the email).
  The key is the same in every dataset, so one real value is one token everywhere and joins survive.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Any

import msgspec


def seed_for(stack_id: str, dataset: str) -> int:
    """The synthetic seed of one dataset of one stack (64 bits)."""
    digest = hashlib.sha256(f"staging-data\0{stack_id}\0{dataset}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def canonical(value: Any) -> str:
    """One text form per value, so 42 from JSON and "42" from CSV are the same customer."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return msgspec.json.encode(value, order="sorted").decode()


class Keyed:
    """HMAC-SHA256 under the caller's secret, with a `purpose` prefix per use (a token and a
    fake of the same value are unrelated)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            from ..errors import BadInput

            raise BadInput("the anonymisation key (the data secret) must be at least 16 bytes")
        self._key = hashlib.sha256(b"staging-data-key\0" + secret).digest()
        self._fp_key = hashlib.sha256(b"staging-data-fingerprint\0" + secret).digest()

    def digest(self, purpose: str, value: Any) -> bytes:
        return hmac.new(self._key, f"{purpose}\0{canonical(value)}".encode(), hashlib.sha256).digest()

    def number(self, purpose: str, value: Any) -> int:
        return int.from_bytes(self.digest(purpose, value)[:8], "big")

    def fraction(self, purpose: str, value: Any) -> float:
        """Uniform in [0, 1): the same value always lands in the same place (stable samples)."""
        return self.number(purpose, value) / 2**64

    def token(self, value: Any) -> str:
        """The `hash` rule's output: no purpose but the rule, so every field and dataset agrees."""
        return "h_" + self.digest("hash", value)[:10].hex()

    def fingerprint(self, text: str) -> int:
        """A keyed 64-bit fingerprint of a source value: the privacy check and the fakes compare
        these, so the set held in memory is not a list of real values."""
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8, key=self._fp_key).digest(),
                              "big")

    def version_tag(self) -> str:
        """Changes when the key changes (tokens change), without revealing it."""
        return self.digest("version", "")[:8].hex()
