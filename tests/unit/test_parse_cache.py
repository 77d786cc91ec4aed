import json
import stat

from conftest import REPO

from provisioner.render.baseline import load_baseline
from provisioner.render.modulevars import module_variables
from provisioner.support import parse_cache

STACK = REPO / "modules" / "stack"


def test_cached_parse_equals_a_fresh_one_and_survives_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(tmp_path / "cache"))
    cold = load_baseline(str(STACK / "production.tfvars"))
    entries = list((tmp_path / "cache").glob("*.json"))
    assert len(entries) == 1 and stat.S_IMODE(entries[0].stat().st_mode) == 0o600
    warm = load_baseline(str(STACK / "production.tfvars"))
    assert warm == cold and warm.production_only == cold.production_only
    entries[0].write_text("{not json")
    assert load_baseline(str(STACK / "production.tfvars")) == cold  # a corrupt entry is a miss
    assert json.loads(entries[0].read_text())["raw"]                 # and is rewritten


def test_module_variables_cached_per_file(tmp_path, monkeypatch):
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(tmp_path / "cache"))
    cold = module_variables(STACK)
    assert module_variables(STACK) == cold
    assert len(list((tmp_path / "cache").glob("*.json"))) == len(list(STACK.glob("*.tf")))


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(parse_cache.CACHE_ENV, str(blocker / "cache"))  # cannot be a directory
    assert load_baseline(str(STACK / "production.tfvars")).values["environment"] == "production"
