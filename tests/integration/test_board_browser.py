"""The status board in headless Chromium: lists stacks created in the emulator, drops one after teardown."""

from __future__ import annotations

import json
import os
import re
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


def _start_board(cfg: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`board --port 0 ...`: the URL is the one it prints (the real port)."""
    env = {**os.environ, "PROVISIONER_CONFIG": str(cfg), "GITHUB_REPOSITORY": "acme/api"}
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "board", "--port", "0", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:   # notes first, then "status board at http://127.0.0.1:PORT/"
        seen.append(line)
        m = re.search(r"status board at (http://127\.0\.0\.1:(\d+)/)", line)
        if m:
            url = m.group(1)
            assert m.group(2) != "0"
            if poll(lambda: _up(url) or proc.poll() is not None, timeout=30) and _up(url):  # noqa: B023
                return proc, url
            break
    proc.kill()
    pytest.fail("board did not start: " + "".join(seen)[-2000:])


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def _visible(page) -> list[str]:
    return page.eval_on_selector_all("tr.environment", "rows => rows.map(r => r.dataset.slug)")


def _wait_rows(page, n: int, seconds: float = 20) -> None:
    """Until the page shows n rows by itself (its CSP forbids eval, so no wait_for_function)."""
    for _ in range(int(seconds * 4)):
        if len(_visible(page)) == n:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the board did not refresh to {n} rows: {_visible(page)}")


def test_board_refreshes_sorts_filters_and_answers_a_port_clash(tmp_path_factory, moto_url, provider_mirror):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is absent: `make test` installs it (apt-get install -y chromium); "
                    "the board's browser test never skips")
    from playwright.sync_api import sync_playwright

    cfg = write_project(tmp_path_factory.mktemp("board2"), moto_url, provider_mirror)
    alpha, beta = stack_id("team/alpha"), stack_id("team/beta")
    run_cli(cfg, "spinup", "--branch", alpha.branch, "--pr", "7", "--owner", "alice")
    proc, url = _start_board(cfg)
    try:
        port = url.rsplit(":", 1)[1].strip("/")
        clash = run_cli(cfg, "board", "--port", port, check=False, timeout=60)
        assert clash.returncode == 2, clash.stderr
        assert f"port {port} on 127.0.0.1 is already in use" in clash.stderr and "--port 0" in clash.stderr
        assert "Traceback" not in clash.stderr

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 600})
                page.goto(url)
                page.evaluate("window.__same_page = true")
                assert _visible(page) == [alpha.slug]
                cells = page.inner_text(f'tr[data-slug="{alpha.slug}"]')
                assert "passing" in cells and "$" in cells and "/h" in cells  # health (checks pass), cost
                assert page.get_attribute(f'tr[data-slug="{alpha.slug}"] a[href*="/pull/7"]', "href") == \
                    "https://github.com/acme/api/pull/7"

                run_cli(cfg, "spinup", "--branch", beta.branch, "--owner", "bob")
                _wait_rows(page, 2)
                assert page.evaluate("window.__same_page === true"), "the page reloaded"
                assert "not updated" not in page.inner_text("#refresh")
                assert page.inner_text("#live-count") == "2"

                page.select_option("#filter-owner", "bob")
                assert _visible(page) == [beta.slug]
                page.select_option("#filter-owner", "")
                page.fill("#filter-text", "alpha")
                assert _visible(page) == [alpha.slug]
                page.fill("#filter-text", "")
                page.click('th[data-sort="branch"]')
                assert _visible(page) == [alpha.slug, beta.slug]
                page.click('th[data-sort="branch"]')
                assert _visible(page) == [beta.slug, alpha.slug]
                assert page.get_attribute('th[data-sort="branch"]', "aria-sort") == "descending"
                shot = os.environ.get("BOARD_SCREENSHOT")
                if shot:
                    page.screenshot(path=shot, full_page=True)

                run_cli(cfg, "teardown", "--branch", beta.branch)
                _wait_rows(page, 1)
                assert page.evaluate("window.__same_page === true")
            finally:
                browser.close()
    finally:
        _stop(proc)
    run_cli(cfg, "teardown", "--branch", alpha.branch)


def test_board_shows_an_error_page_when_the_registry_is_unreachable(tmp_path_factory, provider_mirror):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is absent: `make test` installs it (apt-get install -y chromium)")
    from conftest import moto_server
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("board-down")
    with moto_server(root) as url:
        cfg = write_project(root, url, provider_mirror, extra="[retry]\naws_attempts = 2\n")
        run_cli(cfg, "bootstrap")
        proc, board = _start_board(cfg)
    try:   # the emulator is gone now: the board stays up and says why it has nothing to show
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page()
                response = page.goto(board, timeout=120000)
                assert response.status == 503
                assert "cannot read the environment registry" in page.inner_text("#error")
                reason = page.inner_text(".reason")
                assert "registry" in reason and url.split("//")[1] in reason, reason
                api = page.goto(board + "api/environments", timeout=120000)
                assert api.status == 503 and json.loads(api.text())["error"]
            finally:
                browser.close()
    finally:
        _stop(proc)
