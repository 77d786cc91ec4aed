"""The status board in headless Chromium: lists stacks created in the emulator, drops one after teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import _free_port, run_cli, write_project

from provisioner.aws.emulator import poll
from provisioner.domain.naming import stack_id

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "api/environments", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def board_url(tmp_path_factory, moto_url, provider_mirror):
    cfg = write_project(tmp_path_factory.mktemp("board"), moto_url, provider_mirror)
    port = _free_port()
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg), "GITHUB_REPOSITORY": "acme/api"}
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "board", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    if not poll(lambda: proc.poll() is not None or _up(url), timeout=30) or not _up(url):
        proc.kill()
        pytest.fail(f"board did not start: {proc.stderr.read().decode()[-2000:]}")
    yield cfg, url
    proc.terminate()
    proc.wait(timeout=10)


def _rows(page, url):
    page.goto(url)
    rows = page.query_selector_all("tr.environment")
    return {tr.get_attribute("data-slug"): tr.inner_text() for tr in rows}


def test_board_lists_live_stacks(board_url):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is absent: `make test` installs it (apt-get install -y chromium); "
                    "the board's browser test never skips")
    from playwright.sync_api import sync_playwright

    cfg, url = board_url
    alpha, beta = stack_id("board/alpha"), stack_id("board/<b>eta")
    run_cli(cfg, "spinup", "--branch", alpha.branch, "--pr", "12", "--owner", "alice")
    run_cli(cfg, "spinup", "--branch", beta.branch, "--owner", "bob")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            rows = _rows(page, url)
            assert set(rows) == {alpha.slug, beta.slug}
            assert "board/<b>eta" in rows[beta.slug] and "ready" in rows[alpha.slug]
            assert page.get_attribute(f'tr[data-slug="{alpha.slug}"] a[href*="/pull/12"]', "href") == \
                "https://github.com/acme/api/pull/12"
            assert page.query_selector(f"#diff-{alpha.slug}") is not None
            api = json.loads(page.goto(url + "api/environments").text())
            assert {e["slug"] for e in api["environments"]} == {alpha.slug, beta.slug}

            run_cli(cfg, "teardown", "--branch", beta.branch)
            assert set(_rows(page, url)) == {alpha.slug}
        finally:
            browser.close()
    run_cli(cfg, "teardown", "--branch", alpha.branch)
