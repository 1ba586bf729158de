"""What a layer build runs: a POSIX shell script plus the files it needs.

Each environment layer is made by one script run in a container started
from the layer below, then saved with ``docker commit`` (builder.py). The
script announces each step (buildprotocol.py: markers, exit codes) so a
failure names the step it broke in, and the very last thing it does is delete its build folder
(``/tmp/expkit-build``), which holds the host's pip configuration and CA
bundle: files created and deleted in one container never reach its layer.

Layers:

- system: python (a venv from the base image's own python, checked against
  the ``python=`` pin) or, when the spec lists conda packages, a conda
  prefix made by a conda-compatible installer in the image (micromamba,
  mamba, conda) or, failing that, by py-rattler installed for the build.
- pip: the ``pip:`` requirements installed into that environment; local
  wheels are copied in.

Both end with the environment's package list (``pip freeze``) between
markers, which the builder stores in the image's labels.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from expkit.errors import ConfigError
from expkit.model import EnvironmentSpec

from expkit_docker.buildprotocol import (
    BUILD_DIR,
    CACHE_MOUNT,
    ERROR,
    EXIT_NO_INSTALLER,
    EXIT_NO_PYTHON,
    EXIT_PYTHON_MISMATCH,
    EXIT_UNSOLVABLE,
    FREEZE_BEGIN,
    FREEZE_END,
    STEP,
)
from expkit_docker.names import ENV_PREFIX, ENV_PYTHON
from expkit_docker.pipconfig import BuildNetwork

if TYPE_CHECKING:
    from expkit_docker.sparklayer import SparkSystem

_INCONTAINER = Path(__file__).with_name("incontainer")

_HEADER = f"""\
set -eu
B={BUILD_DIR}
step() {{ printf '{STEP}%s\\n' "$*"; }}
. "$B/env.sh"
export PIP_CACHE_DIR={CACHE_MOUNT}/pip PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
"""
_FREEZE = f"""\
step "record the installed packages (pip freeze)"
echo "{FREEZE_BEGIN}"
{ENV_PYTHON} "$B/freeze.py"
echo "{FREEZE_END}"
"""
_CLEANUP = 'rm -rf "$B"\n'
_FIND_PYTHON = f"""\
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then
  echo "{ERROR}the image has no python3 or python on PATH"; exit {EXIT_NO_PYTHON}
fi
"""


@dataclass(frozen=True)
class LayerBuild:
    layer: str
    script: str
    files: list[tuple[str, bytes, int]] = field(default_factory=list)

    def all_files(self) -> list[tuple[str, bytes, int]]:
        return [*self.files, ("build.sh", self.script.encode("utf-8"), 0o755)]


def _q(values) -> str:
    return " ".join(shlex.quote(v) for v in values)


def python_spec(pin: str | None) -> str:
    """The conda spec for the python pin: ``python=3.11``, ``python>=3.9``, or ``python``."""
    if not pin:
        return "python"
    return f"python={pin}" if pin[0].isdigit() else f"python{pin}"


def _local_channel(channel: str, project: Path, source) -> Path | None:
    """The folder a ``file://`` or path channel names, or None for a named/remote channel."""
    if channel.startswith("file:"):
        path = Path(unquote(urlsplit(channel).path))
    elif channel.startswith(("/", "./", "../", "~")):
        path = Path(channel).expanduser()
        path = path if path.is_absolute() else project / path
    else:
        return None
    if not path.is_dir():
        raise ConfigError(
            f"local channel {channel} is not a folder",
            file=source,
            key="channels",
            hint="a file channel is a folder holding noarch/ and linux-64/ subfolders "
            "of .tar.bz2 or .conda packages.",
        )
    return path


def _channel_files(index: int, folder: Path) -> list[tuple[str, bytes, int]]:
    files = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name != "noarch" and not sub.name.startswith("linux-"):
            continue
        for package in sorted(sub.iterdir()):
            if package.name.endswith((".tar.bz2", ".conda")) and package.is_file():
                files.append(
                    (f"channels/{index}/{sub.name}/{package.name}", package.read_bytes(), 0o644)
                )
    # The indexer expects noarch/ even when every package is platform-specific.
    files.append((f"channels/{index}/noarch/.keep", b"", 0o644))
    return files


def _footer(files: list[tuple[str, bytes, int]], freeze: bool) -> str:
    if not freeze:
        return _CLEANUP
    files.append(("freeze.py", (_INCONTAINER / "freeze.py").read_bytes(), 0o644))
    return _FREEZE + _CLEANUP


def _spark_steps(spark: SparkSystem | None, project: Path, files: list) -> str:
    if spark is None:
        return ""
    from expkit_docker.sparklayer import script

    text, more = script(spark, project, BUILD_DIR, CACHE_MOUNT)
    files += more
    return text


def system_layer(
    spec: EnvironmentSpec | None,
    network: BuildNetwork,
    project: Path,
    *,
    freeze: bool = True,
    spark: SparkSystem | None = None,
) -> LayerBuild:
    """The python (+ conda) layer, plus Java and pyspark for a PySpark environment
    (sparklayer.py); ``freeze`` lists its packages (when no pip layer follows)."""
    spec = spec or EnvironmentSpec()
    files = network.files(BUILD_DIR)
    if not spec.conda:
        check = (_INCONTAINER / "check_python.py").read_bytes()
        files.append(("check_python.py", check, 0o644))
        script = (
            _HEADER
            + _FIND_PYTHON
            + f"""\
step {shlex.quote("check the base image's python against python=" + (spec.python or "(any)"))}
"$PY" "$B/check_python.py" {shlex.quote(spec.python or "")} || exit {EXIT_PYTHON_MISMATCH}
step "create the environment: $PY -m venv {ENV_PREFIX}"
"$PY" -m venv {ENV_PREFIX}
"""
            + _spark_steps(spark, project, files)
            + _footer(files, freeze)
        )
        return LayerBuild("system", script, files)
    channels: list[str] = []
    for i, channel in enumerate(spec.channels):
        folder = _local_channel(channel, project, spec.source)
        if folder is None:
            channels.append(channel)
        else:
            files += _channel_files(i, folder)
            channels.append(f"{BUILD_DIR}/channels/{i}")
    specs = [python_spec(spec.python), *spec.conda]
    files.append(("rattler_install.py", (_INCONTAINER / "rattler_install.py").read_bytes(), 0o644))
    channel_args = _q(a for c in channels for a in ("-c", c))
    rattler_channels = _q(a for c in channels for a in ("--channel", c))
    script = (
        _HEADER
        + f"""\
step "look for a conda-compatible installer in the image (micromamba, mamba, conda)"
INSTALLER=""
for x in micromamba mamba conda; do
  if command -v "$x" >/dev/null 2>&1; then INSTALLER=$(command -v "$x"); break; fi
done
if [ -n "$INSTALLER" ]; then
  step "create the environment with $INSTALLER"
  "$INSTALLER" create -y -p {ENV_PREFIX} --override-channels {channel_args} {_q(specs)}
  "$INSTALLER" clean -a -y >/dev/null 2>&1 || true
else
  PY=$(command -v python3 || command -v python || true)
  if [ -z "$PY" ]; then
    echo "{ERROR}no conda, mamba, micromamba or python in the image"
    exit {EXIT_NO_INSTALLER}
  fi
  step "bring py-rattler for the build (pip install py-rattler, with this machine's pip settings)"
  "$PY" -m venv "$B/rattler"
  "$B/rattler/bin/python" -m pip install "py-rattler>=0.20"
  step {shlex.quote("solve and install the conda packages with py-rattler: " + " ".join(specs))}
  "$B/rattler/bin/python" "$B/rattler_install.py" --prefix {ENV_PREFIX} \\
    --cache {CACHE_MOUNT}/rattler --unsolvable-exit {EXIT_UNSOLVABLE} {rattler_channels} \\
    -- {_q(specs)}
fi
step "make sure the environment has pip"
{ENV_PYTHON} -m pip --version >/dev/null 2>&1 || {ENV_PYTHON} -m ensurepip --default-pip
"""
        + _spark_steps(spark, project, files)
        + _footer(files, freeze)
    )
    return LayerBuild("system", script, files)


def pip_layer(
    spec: EnvironmentSpec | None,
    network: BuildNetwork,
    project: Path,
    *,
    spark: SparkSystem | None = None,
) -> LayerBuild:
    """The ``pip:`` requirements on top of the system layer, then the package list
    (a PySpark environment's pyspark entry is in the system layer already)."""
    from dataclasses import replace

    from expkit.environment import local_file_paths

    from expkit_docker.sparklayer import pip_entries

    spec = spec or EnvironmentSpec()
    spec = replace(spec, pip=pip_entries(spec, spark))
    files = network.files(BUILD_DIR)
    local = local_file_paths(spec, project)
    by_entry = {
        (key if Path(key).is_absolute() else f"./{key}"): path for key, path in local.items()
    }
    requirements = []
    for i, entry in enumerate(spec.pip):
        path = by_entry.get(entry)
        if path is None:
            requirements.append(entry)
            continue
        name = f"files/{i}/{path.name}"
        files.append((name, path.read_bytes(), 0o644))
        requirements.append(f"{BUILD_DIR}/{name}")
    files.append(("requirements.txt", ("\n".join(requirements) + "\n").encode("utf-8"), 0o644))
    install = ""
    if spec.pip:
        install = f"""\
step {shlex.quote("install the pip requirements: " + " ".join(spec.pip))}
{ENV_PYTHON} -m pip install -r "$B/requirements.txt"
"""
    return LayerBuild("pip", _HEADER + install + _footer(files, True), files)
