"""The board's details over many stacks: the project's files read once give each stack exactly what
reading them for that stack alone gives (no render changes the shared inputs)."""

from __future__ import annotations

import sys
from pathlib import Path

from provisioner import config
from provisioner.domain.record import Record
from provisioner.usecases import preview

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from projects import write_project  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_details_of_many_equal_details_one_by_one(tmp_path):
    cfg = write_project(tmp_path / "board", "http://127.0.0.1:9", REPO / ".provisioner" / "provider-mirror")
    settings = config.load(str(cfg))
    records = [
        Record(slug=f"s{i}", branch=f"feature/{name}-{i}", pr=i or None, owner=f"owner{i % 3}")
        for i, name in enumerate(["login", "Billing_v2", "ünïcode", "a" * 80, "x/y/z", "login"])
    ]
    many = preview.details_of_many(settings)
    for rec in records:
        got = many(rec)
        assert got == preview.details(settings, rec), rec.branch
        assert got["differences"] and got["cost"] is not None and "differences_error" not in got
    # the slug the branch derives is in the rendered names of each stack: one render does not leak
    names = {r.branch: [d for d in many(r)["differences"] if d.get("rule") == "injected"] for r in records}
    assert len({str(v) for v in names.values()}) == len(names)


def test_a_project_that_cannot_be_read_is_each_rows_error(tmp_path):
    cfg = write_project(tmp_path / "broken", "http://127.0.0.1:9", REPO / ".provisioner" / "provider-mirror")
    bad = tmp_path / "bad.tfvars"
    bad.write_text("this is = = not hcl")
    text = cfg.read_text()
    start = text.index("baseline = ")
    cfg.write_text(text[:start] + f'baseline = "{bad}"' + text[text.index("\n", start) :])
    row = preview.details_of_many(config.load(str(cfg)))(Record(slug="s", branch="b"))
    assert row["cost"] is None and row["differences"] == [] and "bad.tfvars" in row["differences_error"]
