"""Finding the run's interpreter and learning what it is, cheaply.

A tracked run must not pay for asking the interpreter about itself every
time: starting it to read its version and packages costs 50–300 ms. The
answer (a *probe*) is cached in the user cache, keyed by the interpreter's
path and the file it resolves to, and trusted while the modification times
of its site-packages folders are unchanged — installing or removing a
package touches them, so the cached package list goes stale exactly when
it should.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from expkit.digest import sha256_hex
from expkit.errors import ConfigError, InfrastructureError
from expkit.model import ComputeTarget

DEFAULT_PYTHON = "python"

# Runs inside the user's interpreter: standard library only, and valid on every
# Python 3 the user may point pythonLocation at.
_PROBE = r"""
import json, os, platform, site, sys
dirs = []
try:
    dirs += site.getsitepackages()
except AttributeError:
    pass
try:
    dirs.append(site.getusersitepackages())
except AttributeError:
    pass
packages = []
try:
    from importlib import metadata
    seen = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in seen:
            continue
        seen.add(key)
        packages.append("%s==%s" % (name, dist.version))
except Exception:
    pass
json.dump({
    "executable": sys.executable,
    "version": platform.python_version(),
    "implementation": platform.python_implementation(),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "site_dirs": [d for d in dirs if os.path.isdir(d)],
    "packages": sorted(packages, key=str.lower),
}, sys.stdout)
"""


@dataclass(frozen=True)
class Interpreter:
    """What a probe learnt about one interpreter."""

    #: The path runs are started with (as found on PATH, not resolved: a venv's
    #: ``bin/python`` is a symlink whose target belongs to another environment).
    path: str
    executable: str
    version: str
    implementation: str
    site_dirs: tuple[str, ...]
    packages: tuple[str, ...]

    @property
    def identity(self) -> str:
        """The base identity of environments built from it: resolved file + full version."""
        return f"{os.path.realpath(self.executable)} {self.implementation} {self.version}"


def find_python(compute: ComputeTarget) -> str:
    """Resolve ``pythonLocation`` (default ``python`` on PATH) to an absolute path."""
    wanted = compute.python_location or DEFAULT_PYTHON
    expanded = os.path.expanduser(wanted)
    found = shutil.which(expanded)
    if found is None:
        origin = "the default" if compute.python_location is None else "set"
        raise ConfigError(
            f"Python interpreter {wanted!r} ({origin}) was not found"
            + (" on PATH" if os.sep not in expanded else "")
            + " or is not executable",
            file=compute.source,
            key="pythonLocation",
            hint="set pythonLocation in this .compute file to the interpreter to use "
            "(a command on PATH such as python3, or an absolute path).",
        )
    return os.path.abspath(found)


def is_launcher(path: str) -> bool:
    """True for script launchers (pyenv shims): what they start depends on more than the path."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return True


def _mtimes(dirs: tuple[str, ...] | list[str]) -> list[int | None]:
    out: list[int | None] = []
    for directory in dirs:
        try:
            out.append(os.stat(directory).st_mtime_ns)
        except OSError:
            out.append(None)
    return out


def _cache_file(path: str) -> Path | None:
    from expkit.paths import cache_dir

    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    key = f"{path}\0{real}\0{st.st_mtime_ns}\0{st.st_size}"
    digest = sha256_hex(key.encode("utf-8", "surrogateescape"))[:24]
    return cache_dir() / "local" / "interpreters" / f"{digest}.json"


def cached_probe(path: str) -> Interpreter | None:
    """The cached probe of ``path`` if it is still valid, without starting anything."""
    if is_launcher(path):
        return None
    cache = _cache_file(path)
    if cache is None:
        return None
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("site_mtimes") != _mtimes(data.get("site_dirs", [])):
        return None
    return _from_data(path, data)


def probe(path: str, *, refresh: bool = False) -> Interpreter:
    """Ask the interpreter at ``path`` about itself (cached; see the module docstring).

    Raises InfrastructureError when it cannot be started or is not Python 3.
    """
    if not refresh:
        hit = cached_probe(path)
        if hit is not None:
            return hit
    try:
        proc = subprocess.run(
            [path, "-c", _PROBE],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"cannot start the Python interpreter {path}: {exc}") from None
    try:
        data = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise InfrastructureError(
            f"{path} did not answer as a Python 3 interpreter (exit code {proc.returncode})"
            + ("".join("\n    " + line for line in detail) if detail else "")
        ) from None
    data["site_mtimes"] = _mtimes(data.get("site_dirs", []))
    cache = _cache_file(path)
    if cache is not None and not is_launcher(path):
        from expkit.fsutil import atomic_write_json

        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(cache, data)
        except OSError:
            pass  # a read-only cache costs speed, never correctness
    return _from_data(path, data)


def _from_data(path: str, data: dict) -> Interpreter:
    return Interpreter(
        path=path,
        executable=str(data.get("executable") or path),
        version=str(data.get("version", "")),
        implementation=str(data.get("implementation", "")),
        site_dirs=tuple(data.get("site_dirs", ())),
        packages=tuple(data.get("packages", ())),
    )
