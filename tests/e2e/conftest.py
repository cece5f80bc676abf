"""The browser-test harness: Debian's Chromium driven by Playwright against a live server.

One server per test process (so ``pytest -n 2`` works): a SQLite file in a
temporary directory, migrated and filled the way ``make demo`` does it
(``parcours db upgrade`` then ``parcours demo --seed 7``, through the real
CLI), served by ``parcours serve`` on a free port. Each test gets a fresh
browser context (French, 1280×900); when a test fails its screenshot and a
Playwright trace (``playwright show-trace trace.zip``) are kept.

Playwright cannot download its own browser here, so Chromium is Debian's
``/usr/bin/chromium`` (``PARCOURS_E2E_CHROMIUM`` overrides). Without it the
tests are skipped with the reason — except in CI (``CI=true``), where a missing
browser is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from tests.e2e.support import LiveServer, NewPage

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("PARCOURS_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEMO_SEED = "7"
# Generous waits: `make test` runs the browser beside the rest of the suite on busy machines.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
HERE = Path(__file__).parent


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


# --- marking and failure reports ---------------------------------------------------------

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an ``e2e`` test, without each module having to say so."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report  # type: ignore[return-value]


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(_REPORTS, {}).values())


# --- the live server ---------------------------------------------------------------------


def _parcours_command() -> list[str]:
    script = Path(sys.executable).with_name("parcours")
    return [str(script)] if script.exists() else [sys.executable, "-m", "parcours.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [*_parcours_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ parcours {' '.join(args)}  (exit {done.returncode})\n")
        handle.write(done.stdout + done.stderr + "\n")
    return done


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`parcours serve` exited ({process.returncode}):\n{log.read_text()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{url}/healthz did not answer in 60 s:\n{log.read_text()}", pytrace=False)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The application served over a demo database, one per test process."""
    workdir = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{workdir / 'parcours.db'}"
    log = workdir / "server.log"
    env = {
        **os.environ,
        "PARCOURS_DATABASE_URL": database_url,
        "PARCOURS_COOKIE_SECURE": "false",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    upgraded = _run_cli(["db", "upgrade"], env, log)
    assert upgraded.returncode == 0, log.read_text()
    built = _run_cli(["demo", "--seed", DEMO_SEED], env, log)
    assert built.returncode == 0, log.read_text()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*_parcours_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, process, log)
        yield LiveServer(url=url, database_url=database_url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, started once per test process."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where failing tests leave their screenshot, trace and server log.

    ``PARCOURS_E2E_ARTIFACTS`` chooses; by default a fixed folder under the system's
    temporary directory, because pytest's own temporary folders rotate away after
    three runs (and every helper's runs count).
    """
    chosen = os.environ.get("PARCOURS_E2E_ARTIFACTS")
    path = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "parcours-e2e-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer, artifacts_dir: Path
) -> Iterator[NewPage]:
    """Open a page in a fresh context (no cookies); ``new_page(locale="ar", width=390)``.

    Uncaught JavaScript errors, Content-Security-Policy refusals and any request
    to another host fail the test: the first two break a page even when its HTML
    looks right, and Parcours must work with no internet (no CDN, no web font).
    Requests to other hosts are also refused, so a test never depends on the
    network.
    """
    opened: list[tuple[BrowserContext, Page, list[str]]] = []

    def _open(locale: str = "fr-FR", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.tracing.start(screenshots=True, snapshots=True)
        problems: list[str] = []

        def _offsite(route: Route) -> None:
            problems.append(f"request to another host: {route.request.url}")
            route.abort()

        context.route(lambda url: not url.startswith(live_server.url + "/"), _offsite)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"uncaught error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        opened.append((context, page, problems))
        return page

    yield _open

    failed = _failed(request.node)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    for index, (context, page, _) in enumerate(opened):
        if failed:
            target = artifacts_dir / f"{name}-{index}"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            try:
                page.screenshot(path=str(target / "screenshot.png"), full_page=True)
            except Exception as exc:  # the page may already be gone
                (target / "screenshot-error.txt").write_text(str(exc))
            context.tracing.stop(path=str(target / "trace.zip"))
            shutil.copy(live_server.log, target / "server.log")
            sys.stderr.write(f"\ne2e artifacts of {request.node.nodeid}: {target}\n")
        else:
            context.tracing.stop()
        context.close()
    problems = [p for _, _, found in opened for p in found]
    if problems and not failed:
        pytest.fail("the browser reported:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A page in a fresh French context, 1280×900, relative URLs against the live server."""
    return new_page()
