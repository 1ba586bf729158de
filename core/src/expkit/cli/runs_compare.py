"""``exp runs compare`` and ``exp runs plot``: runs side by side, and a metric over steps."""

from __future__ import annotations

import re
from typing import Any

import typer

#: Metrics whose names say lower is better; every other metric is better higher.
LOWER_IS_BETTER = re.compile(
    r"(loss|err|error|mse|rmse|mae|mape|perplexity|latency|time|duration|cost|regret)",
    re.IGNORECASE,
)

_FIELDS = (
    "name",
    "status",
    "target",
    "runconfig",
    "script",
    "args",
    "env_id",
    "snapshot_id",
    "git_commit",
    "exit_code",
    "duration_s",
)


def lower_is_better(metric: str) -> bool:
    return bool(LOWER_IS_BETTER.search(metric))


def _numbers(values) -> list[float]:
    from expkit.cli.textview import numbers

    return numbers(values)


def compare_data(records, *, everything: bool) -> dict[str, Any]:
    """Rows of the comparison: run fields, parameters, tags, metrics (series as last/min/max).

    Each row is ``{"name", "kind", "values", "best"}``; ``best`` lists the
    indexes of the runs holding the best value of a metric. Rows whose values
    are all equal are left out unless ``everything``.
    """
    from expkit.history import to_dict

    dicts = [to_dict(r) for r in records]
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, values: list[Any], metric: str | None = None) -> None:
        same = all(v == values[0] for v in values)
        if same and not everything:
            return
        best: list[int] = []
        if metric is not None:
            nums = [
                (i, v)
                for i, v in enumerate(values)
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            ]
            if len(nums) > 1 and not same:
                pick = min if lower_is_better(metric) else max
                target = pick(v for _, v in nums)
                best = [i for i, v in nums if v == target]
        rows.append({"name": name, "kind": kind, "values": values, "best": best})

    for field in _FIELDS:
        add(field, "field", [d[field] for d in dicts])

    def names(attr: str) -> list[str]:
        out: list[str] = []
        for r in records:
            out += [n for n in getattr(r, attr) if n not in out]
        return out

    for key in names("tags"):
        add(f"tag.{key}", "tag", [r.tags.get(key) for r in records])
    for key in names("params"):
        add(key, "param", [r.params.get(key) for r in records])
    for metric in names("metrics"):
        series = [r.series.get(metric, ()) for r in records]
        if any(len(s) > 1 for s in series):
            nums = [_numbers(s) for s in series]
            add(f"{metric} (last)", "metric", [r.metrics.get(metric) for r in records], metric)
            add(f"{metric} (min)", "metric", [min(n) if n else None for n in nums], metric)
            add(f"{metric} (max)", "metric", [max(n) if n else None for n in nums], metric)
        else:
            add(metric, "metric", [r.metrics.get(metric) for r in records], metric)
    return {
        "runs": [{"id": r.id, "number": r.number, "name": r.name} for r in records],
        "rows": rows,
    }


def compare_command(
    runs: list[str] = typer.Argument(
        ..., metavar="RUN RUN [RUN...]", help="Two or more runs (number, id, prefix or name)."
    ),
    everything: bool = typer.Option(
        False, "--all", help="Show every field, parameter and metric, also those that are equal."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare runs side by side: only what differs; the best value of each metric marked '*'.

    Metrics logged several times are compared by their last, lowest and highest
    value. Best is the highest value, or the lowest for names meaning a cost
    (loss, error, mse, rmse, mae, time, latency...).
    """
    from expkit.cli.runs import _history, _json
    from expkit.cli.textview import cell, shown, table_lines
    from expkit.errors import UsageError
    from expkit.history.query import resolve

    if len(runs) < 2:
        raise UsageError(
            f"compare needs two or more runs, got {len(runs)}: "
            "e.g. `exp runs compare 3 4` (`exp runs show RUN` shows one)."
        )
    with _history() as history:
        records = [resolve(history, ref) for ref in runs]
    data = compare_data(records, everything=everything)
    if as_json:
        _json(data)
        return
    headers = ["", *(f"run {r.number}" + (f" {r.name}" if r.name else "") for r in records)]
    lines = []
    for row in data["rows"]:
        cells = []
        for i, v in enumerate(row["values"]):
            text = "-" if v is None else cell(v)
            cells.append(text + (" *" if i in row["best"] else ""))
        lines.append([shown(row["name"]), *cells])
    if not lines:
        typer.echo("the runs do not differ (--all shows everything).", err=True)
        return
    for line in table_lines([shown(h) for h in headers], lines):
        typer.echo(line)
    if any(row["best"] for row in data["rows"]):
        typer.echo("(* best value of the metric)", err=True)


def plot_command(
    metric: str = typer.Argument(..., metavar="METRIC", help="The metric to plot."),
    runs: list[str] | None = typer.Argument(
        None,
        metavar="[RUN...]",
        help="Runs to overlay (default: the 5 newest runs that logged METRIC).",
    ),
    width: int = typer.Option(72, "--width", min=30, help="Width of the plot in characters."),
    height: int = typer.Option(14, "--height", min=5, help="Height of the plot in lines."),
) -> None:
    """Plot METRIC over its steps for one or more runs, overlaid, in the terminal."""
    from expkit.cli.runs import _history, _live_metrics
    from expkit.cli.textview import numbers, plot
    from expkit.errors import UsageError
    from expkit.history.query import resolve, summaries

    with _history() as history:
        if runs:
            records = [resolve(history, ref) for ref in runs]
        else:
            ids = [s.id for s in summaries(history) if metric in s.metrics][:5]
            records = [history.get(i) for i in ids]
        if not records:
            raise UsageError(
                f"no run logged a metric named {metric!r}; `exp runs list` shows them."
            )
        series = []
        for r in records:
            live = _live_metrics(history, r)
            values = live.series.get(metric) or r.series.get(metric) or ()
            steps = live.steps.get(metric) or r.steps.get(metric) or tuple(range(len(values)))
            if not values and metric in r.metrics:
                values, steps = (r.metrics[metric],), (0,)
            if isinstance(values, tuple) and len(values) == 1 and isinstance(values[0], list):
                values = tuple(values[0])  # a list logged at once: its items over their index
                steps = tuple(range(len(values)))
            pairs = [
                (s, v)
                for s, v in zip(steps, values, strict=False)
                if numbers([v]) and isinstance(s, (int, float))
            ]
            label = f"run {r.number}" + (f" {r.name}" if r.name else "")
            series.append((label, [p[0] for p in pairs], [float(p[1]) for p in pairs]))
    missing = [label for label, xs, _ in series if not xs]
    if len(missing) == len(series):
        raise UsageError(f"metric {metric!r} has no numeric values in the runs given.")
    from expkit.cli.textview import shown

    typer.echo(shown(metric))
    for line in plot(series, width=width, height=height):
        typer.echo(line)
    if missing:
        typer.echo(f"(no values of {shown(metric)} in: {', '.join(missing)})", err=True)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
    app.command("plot")(plot_command)
