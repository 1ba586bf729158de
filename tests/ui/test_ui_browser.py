"""`exp ui` in a real headless Chromium over a history made by real runs.

Each test leaves a screenshot (see the `shots` fixture) for a person to look at.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ui_helpers import XSS, records, wait_for


def _numbers(tab) -> list[int]:
    return [
        int(n)
        for n in tab.page.eval_on_selector_all(
            "#runs tbody tr[data-number]", "rows => rows.map(r => r.dataset.number)"
        )
    ]


def test_table_sorts_and_filters(ui_server, tab):
    tab.open(ui_server, "runs")
    assert _numbers(tab) == [4, 3, 2, 1]
    header = [t.strip() for t in tab.page.locator("#runs thead th").all_inner_texts()]
    assert "plr" in [h.replace(" ", "").replace("\n", "") for h in header]
    tab.page.click("#runs thead th[data-col='metric.accuracy']")
    assert _numbers(tab) == [2, 1, 3, 4]  # ascending; the run without accuracy last
    tab.page.click("#runs thead th[data-col='metric.accuracy']")
    assert _numbers(tab) == [3, 1, 2, 4]
    tab.page.fill("#filter", 'lr < 0.2 and tag.team == "a"')
    wait_for(lambda: _numbers(tab) == [3, 1], what="the filtered rows")
    assert tab.page.inner_text("#count") == "2 of 4 runs"
    tab.shot("-filtered")
    tab.page.fill("#filter", "lr < and")
    wait_for(lambda: "position 6" in tab.page.inner_text("#filter-error"), what="the error")
    tab.shot("-bad-filter")
    tab.page.fill("#filter", "")
    wait_for(lambda: _numbers(tab) == [3, 1, 2, 4], what="every run again")


def test_run_page_chart_matches_the_logged_values(ui_project, ui_server, tab):
    record = next(r for r in records(ui_project) if r["number"] == 1)
    tab.open(f"{ui_server}#/run/{record['id']}", "run")
    chart = tab.page.locator(".chart[data-metric='loss']")
    assert chart.locator("canvas").count() >= 1
    data = chart.evaluate("box => box.querySelector('.uplot').parentElement._uplot.data")
    assert data[0] == list(record["steps"]["loss"]) == [0, 1, 2, 3, 4, 5]
    assert data[1] == list(record["series"]["loss"])
    chart.locator("summary").click()
    cells = chart.locator("table.points tr").all_inner_texts()
    assert [c.split() for c in cells[1:]] == [
        [str(s), f"{v:.4g}"]
        for s, v in zip(record["steps"]["loss"], record["series"]["loss"], strict=True)
    ]
    params = tab.page.locator("#params tr").all_inner_texts()
    assert any(p.split() == ["lr", "0.1"] for p in params)
    assert any(p.split() == ["optimizer", "adam"] for p in params)
    assert "trained with lr=0.1" in tab.page.inner_text("#log")
    assert "train.py" in tab.page.inner_text("#snapshot")
    tab.shot()


def test_compare_overlays_the_selected_runs(ui_project, ui_server, tab):
    tab.open(ui_server, "runs")
    for number in (1, 3):
        tab.page.check(f"#runs tr[data-number='{number}'] input[type=checkbox]")
    tab.page.click("#compare-selected")
    tab.wait_ready("compare")
    tab.page.wait_for_selector("#overlay-chart .uplot")
    overlay = tab.page.locator("#overlay-chart").evaluate(
        "box => ({labels: box._uplot.series.map(s => s.label), data: box._uplot.data})"
    )
    assert overlay["labels"][1:] == ["run 1", "run 3"]
    by_number = {r["number"]: r for r in records(ui_project)}
    assert overlay["data"][1] == list(by_number[1]["series"]["loss"])
    assert overlay["data"][2] == list(by_number[3]["series"]["loss"])
    tab.page.wait_for_selector("#scatter-chart .uplot")
    assert tab.page.input_value("#scatter-param") == "lr"
    tab.page.select_option("#scatter-metric", "accuracy")
    scatter = tab.page.locator("#scatter-chart").evaluate("box => box._uplot.data")
    assert scatter[0] == [0.05, 0.1, 0.3] and scatter[1] == [0.95, 0.9, 0.7]
    tab.shot()


def test_a_running_run_appears_and_updates_live(ui_project, ui_server, tab):
    gates = ui_project.root.parent
    ui_project.write(
        "live.py",
        f"""
        import os, time
        from expkit import log

        def wait(name):
            path = os.path.join({str(gates)!r}, name)
            for _ in range(600):
                if os.path.exists(path):
                    return
                time.sleep(0.1)

        print("first line", flush=True)
        log("live_loss", 1.0)
        wait("gate1")
        print("second line", flush=True)
        log("live_loss", 0.5)
        log("live_loss", 0.25)
        wait("gate2")
        """,
    )
    tab.open(ui_server, "runs")
    before = _numbers(tab)
    proc = ui_project.popen("run", "-c", "local", "live.py")
    try:
        number = max(before) + 1
        wait_for(lambda: number in _numbers(tab), what="the new run in the table")
        row = tab.page.locator(f"#runs tr[data-number='{number}']")
        wait_for(lambda: "running" in row.inner_text(), what="its running status")
        row.locator("td[data-col='run'] a").click()
        tab.wait_ready("run")
        wait_for(lambda: "first line" in tab.page.inner_text("#log"), what="the first line")
        (gates / "gate1").write_text("go")
        wait_for(lambda: "second line" in tab.page.inner_text("#log"), what="a new log line")
        chart = tab.page.locator(".chart[data-metric='live_loss']")
        wait_for(lambda: chart.count() == 1, what="the chart of the new metric")
        wait_for(
            lambda: (
                chart.evaluate("b => b.querySelector('.uplot').parentElement._uplot.data[1]")
                == [1.0, 0.5, 0.25]
            ),
            what="the new metric points",
        )
        tab.shot("-running")
        (gates / "gate2").write_text("go")
        assert proc.wait(timeout=60) == 0
        wait_for(lambda: "completed" in tab.page.inner_text("#run-head"), what="completed")
    finally:
        proc.kill()
    tab.shot("-finished")


def test_hostile_names_show_as_text(ui_project, ui_server, tab):
    tab.open(ui_server, "runs")
    row = tab.page.locator("#runs tr[data-number='4']")
    assert row.locator("td[data-col='name']").inner_text() == XSS
    assert XSS in row.locator("td[data-col='tags']").inner_text()
    assert tab.page.locator("img").count() == 0
    tab.shot("-table")
    row.locator("td[data-col='run'] a").click()
    tab.wait_ready("run")
    assert XSS in tab.page.inner_text("#run-head")
    assert XSS in tab.page.inner_text("#metrics")
    assert XSS in tab.page.inner_text("#outputs")
    assert XSS in tab.page.inner_text("#log")
    assert tab.page.locator(f".chart[data-metric='{XSS}'] canvas").count() >= 1
    assert tab.page.locator("img").count() == 0
    tab.shot("-run")
    # what dialogs or page errors happened is checked when the tab closes


def test_read_only_local_and_offline(ui_project, ui_server):
    page = urllib.request.urlopen(ui_server, timeout=10)
    html = page.read().decode()
    assert "http" not in html.replace(ui_server, "")  # no asset from elsewhere
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    request = urllib.request.Request(ui_server + "api/runs", method="POST", data=b"{}")
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("POST was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 405
    rebinding = urllib.request.Request(ui_server + "api/runs", headers={"Host": "evil.example:80"})
    try:
        urllib.request.urlopen(rebinding, timeout=10)
        raise AssertionError("a foreign Host header was answered")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
    hostile = next(r for r in records(ui_project) if r["number"] == 4)
    name = hostile["outputs"][0]
    url = f"{ui_server}api/run/4/output/{urllib.request.quote(name)}"
    download = urllib.request.urlopen(url, timeout=10)
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.read() == b"x"
    outside = f"{ui_server}api/run/4/output/..%2F..%2Frecord.json"
    try:
        urllib.request.urlopen(outside, timeout=10)
        raise AssertionError("a path outside outputs/ was served")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    data = json.loads(urllib.request.urlopen(ui_server + "api/runs", timeout=10).read())
    assert [row[1] for row in data["runs"]][-4:] == [4, 3, 2, 1]  # (+ the live test's run)
    bad = json.loads(
        urllib.request.urlopen(ui_server + "api/match?filter=lr%20%3C", timeout=10).read()
    )
    assert bad["error"]["position"] == 4
