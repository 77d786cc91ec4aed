"""The privacy check: each pattern is caught, the error names dataset, row and field, never the value."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from provisioner.data import PrivacyError, parse_datasets
from provisioner.data.keyed import Keyed
from provisioner.data.privacy import PrivacyCheck, exact_candidate, finding, iban_valid, luhn
from provisioner.data.run import Run
from provisioner.errors import EXIT_BAD_INPUT

EXAMPLE = Path(__file__).resolve().parents[2] / "modules" / "stack" / "data"


@pytest.mark.parametrize(("value", "kind"), [
    ("jane.doe@gmail.com", "an email address"),
    ("Contact: ops@acme-corp.co.uk for access", "an email address"),
    ("+1 212 555 1234", "a phone number"),
    ("(559)512-5151x4694", "a phone number"),
    ("571.212.1839", "a phone number"),
    ("+44 20 7946 0958", "a phone number"),
    ("Call 07700 900123 before delivery", "a phone number"),
    ("4111 1111 1111 1111", "a payment card number"),
    ("5500-0000-0000-0004", "a payment card number"),
    ("375701725902563", "a payment card number"),
    (4111111111111111, "a payment card number"),
    ("GB82 WEST 1234 5698 7654 32", "an IBAN"),
    ("DE89370400440532013000", "an IBAN"),
    ("123-45-6789", "a social security number"),
    ("AB 12 34 56 C", "a national insurance number"),
])
def test_each_pattern_is_caught(value, kind):
    assert finding(value) == kind


@pytest.mark.parametrize("value", [
    "bob@example.com", "ops@mail.example.org", "x@test.invalid", "+1-212-555-0142", "(415) 555-0199",
    "4111111111111112",            # fails Luhn
    "GB82WEST12345698765433",      # fails mod-97
    "000-12-3456", "666-12-3456", "900-12-3456",   # never issued as SSNs
    "2024-01-15T10:22:33.123456+00:00", "2024-01-15", "192.168.100.200",
    "0f8fad5b-d9cb-469f-a165-70867728950e", "order 1000000123", "h_0123456789abcdef0123",
    "************1111", 12345, 3.14, True, None, "Leave at the door",
])
def test_fictional_and_harmless_values_pass(value):
    assert finding(value) is None


def test_luhn_and_mod97():
    assert luhn("79927398713") and not luhn("79927398710")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765431")


def test_the_error_names_dataset_row_and_field_never_the_value():
    check = PrivacyCheck("orders")
    check.check({"id": 1, "note": "fine"})
    with pytest.raises(PrivacyError) as info:
        check.check({"id": 2, "note": "card 4111 1111 1111 1111 on file"})
    err = info.value
    assert err.exit_code == EXIT_BAD_INPUT
    assert (err.dataset, err.row, err.field) == ("orders", 2, "note")
    assert "4111" not in str(err) and "card" in err.finding and "'note'" in str(err)


def test_nested_values_are_scanned():
    with pytest.raises(PrivacyError) as info:
        PrivacyCheck("d").check({"profile": {"contacts": ["ok", "a@b-mail.com"]}})
    assert info.value.field == "profile" and "@" not in str(info.value)


def test_a_value_equal_to_an_exported_one_is_caught_unless_kept():
    keyed = Keyed(b"0123456789abcdef-secret")
    sensitive = {keyed.fingerprint("Walter Hernandez"), keyed.fingerprint("8785878870")}
    check = PrivacyCheck("people", keyed, sensitive, keep=["tier"])
    check.check({"name": "Someone Else", "tier": "Walter Hernandez"})       # keep: exempt
    for field, value in (("name", "Walter Hernandez"), ("phone", "8785878870")):
        with pytest.raises(PrivacyError) as info:
            PrivacyCheck("people", keyed, sensitive).check({field: value})
        assert info.value.field == field and value not in str(info.value)
        assert "production export" in str(info.value)


def test_keep_fields_still_get_the_pattern_scan():
    check = PrivacyCheck("people", keep=["email"])
    with pytest.raises(PrivacyError):
        check.check({"email": "real.person@gmail.com"})


def test_dates_amounts_and_short_values_are_not_compared():
    assert not exact_candidate("2021-03-01") and not exact_candidate("295.00") and not exact_candidate("gold")
    assert exact_candidate("Walter Hernandez") and exact_candidate("123456789")


def test_keeping_a_personal_field_refuses_the_load():
    raw = copy.deepcopy(tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"])
    raw["orders"]["fields"]["email"] = "keep"
    datasets = parse_datasets(raw, "datasets.toml", EXAMPLE)
    run = Run({"table_name": "t"}, "s", datasets, None, None, Keyed(b"0123456789abcdef-secret"))
    rows, check = run.rows(datasets.get("orders"))
    with pytest.raises(PrivacyError) as info:
        for row in rows:
            check.check(row)
    assert (info.value.dataset, info.value.field) == ("orders", "email")
    assert "@" not in str(info.value)


def test_the_synthetic_example_passes_the_check():
    datasets = parse_datasets(tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"],
                              "datasets.toml", EXAMPLE)
    run = Run({}, "any-stack", datasets, None, None, Keyed(b"0123456789abcdef-secret"))
    for name in ("customers", "invoices"):
        rows, check = run.rows(datasets.get(name))
        for row in rows:
            check.check(row)
        assert check.rows > 1000
