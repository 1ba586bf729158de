"""Peak memory of ``exp`` while it collects a docker run's outputs (issue 8, item 11).

Not a timing case (bench/run.py times commands; this measures memory): a
docker run writes N MiB of outputs (default 1024, in 64 MiB files), and the
peak resident set size of the ``exp run`` process is read from
``getrusage(RUSAGE_CHILDREN)`` once it ended. The same is measured for a run
that writes nothing, so the table shows what collecting costs. Target: at
most 64 MiB for 1 GiB of outputs (collection streams the archive to disk).

    .venv/bin/python bench/rss_docker_collect.py            # 1024 MiB
    .venv/bin/python bench/rss_docker_collect.py --mb 200   # smaller

Exit code 0 when the target is met, 1 when not, 2 when docker is missing.
Needs the engine and the base image (``make engines``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Skip, clean_env, exp_executable  # noqa: E402
from cases_docker import BASE_IMAGE, _check_engine  # noqa: E402

TARGET_MIB = 64
WRITE = """\
import os, sys
os.makedirs("outputs", exist_ok=True)
total = int(sys.argv[1])
block = b"x" * (1 << 20)
for n in range(0, total, 64):
    with open(f"outputs/part-{n // 64:03d}.bin", "wb") as handle:
        for _ in range(min(64, total - n)):
            handle.write(block)
print("wrote", total, "MiB")
"""


def _peak_rss_mib(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Peak RSS of the child running ``argv`` (a fresh interpreter: one child only)."""
    probe = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], cwd=cwd, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    kib, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    return int(kib) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="MiB of outputs (default 1024)")
    args = parser.parse_args(argv)
    try:
        _check_engine()
        exp = exp_executable()
    except Skip as exc:
        print(f"bench: skipped: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="expkit-bench-rss-") as tmp:
        root = Path(tmp)
        project = root / "project"
        aml = project / "aml_config"
        aml.mkdir(parents=True)
        (aml / "docker.compute").write_text(
            f'type: "localdocker"\nbaseDockerImage: "{BASE_IMAGE}"\n'
        )
        (aml / "docker.runconfig").write_text(
            'ArgumentVector:\n  - "$file"\nTarget: "docker"\nFramework: "Python"\n'
            "EnvironmentVariables: {}\nPrepareEnvironment: false\nTrackedRun: true\n"
        )
        (project / "write.py").write_text(WRITE)
        env = clean_env(root, {"EXPKIT_OUTPUTS_LIMIT_MB": "0"})
        subprocess.run([exp, "prepare", "-c", "docker"], cwd=project, env=env, check=True)
        run = [exp, "run", "-c", "docker", "write.py"]
        empty = _peak_rss_mib([*run, "0"], project, env)
        full = _peak_rss_mib([*run, str(args.mb)], project, env)
    ok = full <= TARGET_MIB
    print("case                 outputs    peak RSS of exp  target    result")
    print("-------------------  ---------  ---------------  --------  ------")
    print(f"docker-collect-rss   0 MiB      {empty:8.1f} MiB")
    print(
        f"                     {args.mb} MiB  {full:8.1f} MiB     <={TARGET_MIB} MiB  "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
