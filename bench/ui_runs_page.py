"""`exp ui`'s runs page over 10,000 runs: time until the table shows, in the browser.

    .venv/bin/python bench/ui_runs_page.py [--runs 10000] [--repeat 7]

Builds a history of RUNS runs (bench/cases_history.py), starts `exp ui` on it,
loads the page in headless Chromium (Debian's, driven by Playwright) REPEAT
times with a fresh page each time, and reports the median time from navigation
start to the table being shown (``window.expkitReadyAt``, set by the page).
Target: at most 1 s. Exit 0 when met, 1 when missed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import clean_env, exp_executable  # noqa: E402
from cases_history import RUNS, _project, make_history  # noqa: E402

TARGET_S = 1.0
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        print("skipped: chromium is not installed (scripts/ui/ensure-browser.sh)", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if opts.runs == RUNS:  # the history bench/cases_history.py keeps under ~/.cache
            project = _project(root).cwd
        else:
            project = root / "project"
            (project / "aml_config").mkdir(parents=True)
            print(f"building a history of {opts.runs} runs...", file=sys.stderr)
            make_history(project, opts.runs)
        env = clean_env(root)
        server = subprocess.Popen(
            [exp_executable(), "ui", "--port", "0", "--no-browser"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = re.search(r"http://\S+/", server.stdout.readline()).group()
            times = []
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(root / "profile"), executable_path=chromium, headless=True, args=ARGS
                )
                for i in range(opts.repeat + 1):
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_selector("body[data-ready=runs]", timeout=30_000)
                    rows = page.locator("#runs tbody tr[data-number]").count()
                    ready = page.evaluate("window.expkitReadyAt") / 1000
                    page.close()
                    if i:  # the first load warms the server's caches and the browser
                        times.append(ready)
            median = statistics.median(times)
        finally:
            server.terminate()
            server.wait(timeout=10)
    verdict = "PASS" if median <= TARGET_S else "FAIL"
    print(
        f"ui runs page, {opts.runs} runs: median {median:.3f}s, min {min(times):.3f}s "
        f"({rows} rows in the DOM)  target <{TARGET_S:.2f}s  {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
