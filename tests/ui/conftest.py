"""Fixtures for `exp ui` in a real headless browser: Debian's chromium driven by Playwright.

The browser comes from scripts/ui/ensure-browser.sh (run by `make test`); Playwright
is pointed at it (`executable_path`), `playwright install` is never used. Without
the browser the tests skip, except under CI (EXPKIT_REQUIRE_ENGINES=1) where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The shared project helpers of the local target's tests (local_e2e) and this
# folder's (ui_helpers), imported by their unique names under any import mode.
for _folder in (Path(__file__).resolve().parents[1] / "local", Path(__file__).resolve().parent):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from ui_helpers import XSS  # noqa: E402

REQUIRE = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TRAIN = """
import argparse
from expkit import log, log_param
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
a = p.parse_args()
log_param("optimizer", "adam")
for epoch in range(6):
    log("loss", round(a.lr * 10 / (epoch + 1), 4))
log("accuracy", round(1 - a.lr, 4))
print(f"trained with lr={a.lr}")
"""

XSS_SCRIPT = f"""
import os
from expkit import log
log({XSS!r}, 1)
log({XSS!r}, 2)
os.makedirs("outputs", exist_ok=True)
open(os.path.join("outputs", {XSS!r}.replace("/", "_")), "w").write("x")
print({XSS!r})
"""


def _browser_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _browser_path()
    if path is None:
        message = "chromium is not installed (scripts/ui/ensure-browser.sh installs it)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    try:
        import playwright  # noqa: F401
    except ImportError:
        if REQUIRE:
            pytest.fail("the playwright package is missing (make dev installs it)")
        pytest.skip("the playwright package is missing")
    return path


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    """Where each test leaves its screenshot (printed at the end; never committed)."""
    folder = Path(os.environ.get("EXPKIT_UI_SCREENSHOTS") or tmp_path_factory.mktemp("ui-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def ui_project(request, tmp_path_factory, exp_cache):
    """A project whose history was made by real runs: three trainings and a hostile one."""
    from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG, module_project

    project = module_project(request, tmp_path_factory, exp_cache, "ui")
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    project.write("train.py", TRAIN)
    project.write("xss.py", XSS_SCRIPT)
    for lr, tag in (("0.1", "a"), ("0.3", "b"), ("0.05", "a")):
        result = project.exp("run", "--tag", f"team={tag}", "-c", "local", "train.py", "--lr", lr)
        assert result.returncode == 0, result.output
    result = project.exp("run", "--name", XSS, "--tag", f"x={XSS}", "-c", "local", "xss.py")
    assert result.returncode == 0, result.output
    return project


@pytest.fixture(scope="module")
def ui_server(ui_project):
    """`exp ui --port 0 --no-browser` in the project, as a user starts it; yields its URL."""
    proc = ui_project.popen("ui", "--port", "0", "--no-browser")
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line + proc.stderr.read()
        yield match.group()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Page:
    """A browser tab that fails the test on a script error or an alert()."""

    def __init__(self, context, shots: Path, name: str) -> None:
        self.page = context.new_page()
        self.shots, self.name = shots, name
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str, ready: str) -> None:
        self.page.goto(url)
        self.wait_ready(ready)

    def wait_ready(self, ready: str) -> None:
        self.page.wait_for_selector(f"body[data-ready={ready}]", timeout=20_000)

    def shot(self, suffix: str = "") -> Path:
        path = self.shots / f"{self.name}{suffix}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
        self.page.close()


@pytest.fixture
def tab(browser, shots, request):
    page = Page(browser, shots, request.node.name)
    yield page
    page.close()
