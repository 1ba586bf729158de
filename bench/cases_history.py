"""History cases: reading a large run history (`exp runs list` over 10,000 runs)."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

from benchlib import Case, Command, Target, Workspace, clean_env, exp_executable, python_executable

RUNS = 10_000


def make_history(project: Path, runs: int = RUNS, seed: int = 1) -> None:
    """``runs`` finished runs as `exp run` records them: parameters, metrics with a
    20-step series, a package list, tags on some, a name on some."""
    from expkit.history import History
    from expkit.model import frozen_map

    rng = random.Random(seed)
    packages = tuple(f"package-{i}==1.{i}.0" for i in range(40))
    with History(project) as history:
        for i in range(runs):
            record = history.create(
                target="local",
                runconfig="local",
                script="train.py",
                args=["--lr", str(round(rng.uniform(0.001, 0.5), 4)), "-e", "20"],
            )
            loss = [round(1 / (s + 1) + rng.random() * 0.05, 4) for s in range(20)]
            record = dataclasses.replace(
                record,
                status="completed" if i % 10 else "failed",
                exit_code=0 if i % 10 else 1,
                ended=record.started + 1.5,
                duration_s=1.5,
                name=f"trial-{i}" if i % 7 == 0 else None,
                tags=frozen_map({"team": "ab"[i % 2]}),
                params=frozen_map(
                    {"lr": float(record.args[1]), "e": 20, "env.MODE": "fast", "seed": i}
                ),
                metrics=frozen_map({"loss": loss[-1], "accuracy": round(rng.random(), 4)}),
                series=frozen_map({"loss": tuple(loss)}),
                steps=frozen_map({"loss": tuple(range(20))}),
                packages=packages,
            )
            history.save(record)


#: Bump when make_history changes: the cached history is rebuilt.
VERSION = 2


def _project(root: Path) -> Workspace:
    """The 10,000-run project, built once (~1-2 min) and kept under ~/.cache for reruns;
    the commands only read it."""
    import os
    import shutil

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    project = cache / "expkit-bench" / f"history-{RUNS}-v{VERSION}"
    if not (project / ".complete").exists():
        shutil.rmtree(project, ignore_errors=True)
        (project / "aml_config").mkdir(parents=True)
        (project / "aml_config" / "local.compute").write_text(
            f'type: "local"\npythonLocation: "{python_executable()}"\n'
        )
        (project / "aml_config" / "local.runconfig").write_text(
            'ArgumentVector:\n  - "$file"\nTarget: "local"\nFramework: "Python"\n'
        )
        make_history(project)
        (project / ".complete").write_text("")
    return Workspace(root=root, cwd=project, env=clean_env(root), data={"exp": exp_executable()})


def _exp(*args: str):
    return lambda ws: [ws.data["exp"], *args]


CASES = [
    Case(
        name="runs-list-10k",
        description=f"`exp runs list --all` over {RUNS} runs (table of every run)",
        setup=_project,
        commands=[
            Command("python -c pass", [python_executable(), "-c", "pass"]),
            # The fixed cost (start-up, opening the history, one row): the difference to
            # the next line is what 10,000 rows cost.
            Command("exp runs list --limit 1", _exp("runs", "list", "--limit", "1")),
            Command("exp runs list --all", _exp("runs", "list", "--all")),
        ],
        target=Target(max_seconds=0.3),
    ),
    Case(
        name="runs-list-10k-json",
        description=f"`exp runs list --json` over {RUNS} runs (every full record)",
        setup=_project,
        commands=[
            Command("python -c pass", [python_executable(), "-c", "pass"]),
            Command("exp runs list --json", _exp("runs", "list", "--json")),
        ],
        target=Target(max_seconds=0.5),
    ),
    Case(
        name="runs-list-10k-filter",
        description=f"`exp runs list --filter ... --sort -accuracy --all` over {RUNS} runs",
        setup=_project,
        commands=[
            Command("python -c pass", [python_executable(), "-c", "pass"]),
            Command(
                "exp runs list --filter --sort --all",
                _exp(
                    "runs",
                    "list",
                    "--filter",
                    'lr < 0.25 and tag.team == "a"',
                    "--sort",
                    "-accuracy",
                    "--all",
                ),
            ),
        ],
        target=Target(max_seconds=0.3),
    ),
]

if __name__ == "__main__":  # build a history to look at: python bench/cases_history.py DIR [N]
    make_history(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else RUNS)
