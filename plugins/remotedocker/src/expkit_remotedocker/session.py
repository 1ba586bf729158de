"""One target's SSH connection and what is known about its VM, per ``exp`` process.

Everything a command does on the VM goes through one Session: one SSH
connection (expkit.ssh, reused by every step), the VM's engine over it
(engine.RemoteEngine), and the VM's facts — home folder, user and group ids,
engine version, free disk — read with a single command and kept for the
process (cachetools.TTLCache: a long ``exp runs logs -f`` still re-reads them
now and then).

Remote layout, under ``~/.cache/expkit-remote`` of the SSH user:
``objects/`` (store.py), ``farms/<tree>/`` (farm.py: the last few snapshots'
hard-link farms) and ``runs/<run id>/`` (a run's folder: its overlay's
``upper/`` and ``work/``, ``log.txt``, ``exit_code``, ``metrics.jsonl``;
removed once collected).
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cachetools import TTLCache
from expkit.errors import ConfigError, InfrastructureError
from expkit.model import ComputeTarget
from expkit.ssh import SshTarget, connect

from expkit_remotedocker.engine import RemoteEngine
from expkit_remotedocker.farm import FarmMemory
from expkit_remotedocker.store import KnownObjects

if TYPE_CHECKING:
    from expkit.ssh import Link

STORE = ".cache/expkit-remote"
#: Objects uploaded longer ago than this many days are removed (checked once a day).
PRUNE_DAYS = 30
_FACTS = (
    'printf "%s\\n" "$HOME"; id -u; id -g; '
    'v=$(docker version --format "{{.Server.Version}}" 2>&1); echo "docker=$?"; '
    'printf "%s\\n" "$v" | head -n 3 | tr "\\n" " "; echo; '
    'df -Pk "$HOME" | tail -n 1'
)
#: sh -c script: once a day, delete objects ($1) uploaded more than $2 days ago.
_PRUNE = (
    'cd "$1" 2>/dev/null || exit 0; '
    '[ -z "$(find .pruned -mmin -1440 2>/dev/null)" ] || exit 0; touch .pruned; echo ran; '
    'find . -maxdepth 1 -type f ! -name ".*" -mtime +"$2" -delete'
)
_facts: TTLCache = TTLCache(maxsize=16, ttl=300)
#: Seconds the VM's facts are kept in the user cache.
FACTS_TTL = 3600


@dataclass(frozen=True)
class Facts:
    home: str
    uid: int
    gid: int
    engine_version: str
    free_bytes: int | None
    #: False once the engine failed to mount an overlay volume (submit.py copies then).
    overlay: bool | None = None


class Session:
    def __init__(self, compute: ComputeTarget, *, trust: str | None = None) -> None:
        self.compute = compute
        self.ssh: Link = connect(ssh_target(compute), trust=trust)
        network = compute.options.get("buildNetwork")
        if network not in (None, "", "bridge", "host"):
            raise ConfigError(
                f"must be bridge or host, got {network!r}",
                file=compute.source, key="buildNetwork",
                hint="host: image builds use the VM's own network (a proxy on its loopback).",
            )  # fmt: skip
        self.engine = RemoteEngine(self.ssh, build_network=network or None)

    @property
    def facts(self) -> Facts:
        """The VM's facts: read once per process, and kept for an hour in the user cache
        (a run needs the home and ids; the engine check is for attach and errors)."""
        key = self.ssh.label
        found = _facts.get(key)
        if found is None:
            found = _facts[key] = self._cached_facts()
        return found

    def _state_dir(self) -> Path:
        from expkit.paths import cache_dir

        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", self.ssh.label)
        return cache_dir() / "remotedocker" / safe

    def _cached_facts(self) -> Facts:
        path = self._state_dir() / "facts.json"
        try:
            if time.time() - path.stat().st_mtime < FACTS_TTL:
                return Facts(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            pass
        facts = read_facts(self.ssh)
        self._save_facts(facts)
        return facts

    def _save_facts(self, facts: Facts) -> None:
        from expkit.fsutil import atomic_write_text

        path = self._state_dir() / "facts.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(dataclasses.asdict(facts)))

    def no_overlay(self, why: str) -> None:
        """The engine could not mount an overlay volume: kept with the facts (so runs
        copy their files without trying again until the facts are read anew)."""
        import sys

        facts = dataclasses.replace(self.facts, overlay=False)
        _facts[self.ssh.label] = facts
        self._save_facts(facts)
        sys.stderr.write(f"exp: note: the Docker engine on {self.ssh.label} cannot mount an "
                         f"overlay ({why.strip().splitlines()[0]}); runs copy their files "
                         "there (slower).\n")  # fmt: skip

    @property
    def store(self) -> str:
        return posixpath.join(self.facts.home, STORE)

    @property
    def objects(self) -> str:
        return posixpath.join(self.store, "objects")

    def run_folder(self, run_id: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", run_id) or run_id in (".", ".."):
            raise InfrastructureError(f"run id {run_id!r} cannot name a folder on the VM")
        return posixpath.join(self.store, "runs", run_id)

    def known(self) -> KnownObjects:
        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", self.store)
        return KnownObjects(self._state_dir() / f"objects{safe}.known")

    def farm_memory(self) -> FarmMemory:
        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", self.store)
        return FarmMemory(self._state_dir() / f"farm{safe}.json")

    def prune_objects(self, known: KnownObjects) -> None:
        """Once a day, delete objects uploaded more than PRUNE_DAYS ago.

        An object still in use is then sent again: the pruning forgets what this
        machine knew of the store, so the next send asks the VM about everything.
        """
        stamp = self._state_dir() / "pruned"
        try:
            if time.time() - stamp.stat().st_mtime < 86400:
                return  # checked today: no round trip
        except OSError:
            pass
        if self.ssh.script(_PRUNE, self.objects, str(PRUNE_DAYS)).text().strip():
            known.forget()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()


def ssh_target(compute: ComputeTarget) -> SshTarget:
    if not compute.address:
        raise ConfigError("a remotedocker target needs an address", file=compute.source,
                          key="address")  # fmt: skip
    host = compute.address.strip("[]")
    # 22 is what attach writes by default: let a Port in ~/.ssh/config for the host win.
    port = compute.port if compute.port not in (None, 22) else None
    return SshTarget(host=host, port=port, username=compute.username,
                     key_file=compute.key_file, password=compute.password)  # fmt: skip


def read_facts(ssh: Link) -> Facts:
    """The VM's facts; a missing or unusable engine is an error saying what to do."""
    lines = ssh.script(_FACTS, check=True, what="reading the VM's facts").text().splitlines()
    if len(lines) < 5:
        raise InfrastructureError(f"unexpected answer from {ssh.label}: {lines!r}")
    home, uid, gid, status, version = lines[:5]
    user = ssh.username
    if status != "docker=0":
        detail = version.strip()
        if status == "docker=127" or "not found" in detail:
            hint = ("install Docker there (e.g. `sudo apt-get install docker.io`) and make "
                    "sure `docker` is on the PATH of non-interactive SSH sessions.")  # fmt: skip
        elif "permission denied" in detail.lower():
            hint = (f"let {user} use the engine: `sudo usermod -aG docker {user}`, then "
                    "reconnect.")  # fmt: skip
        else:
            hint = "start the engine there (`sudo systemctl start docker`)."
        raise InfrastructureError(
            f"no usable Docker engine on {ssh.label}: {detail or status}\n  {hint}"
        )
    free = None
    if len(lines) > 5:
        fields = lines[5].split()
        if len(fields) >= 4 and fields[3].isdigit():
            free = int(fields[3]) * 1024
    return Facts(home=home, uid=int(uid), gid=int(gid), engine_version=version.strip(),
                 free_bytes=free)  # fmt: skip


_sessions: dict[tuple, Session] = {}
#: A run's warm-up thread and its prepare may ask at once: the second waits for the first.
_sessions_lock = threading.Lock()


def session(compute: ComputeTarget, *, trust: str | None = None) -> Session:
    """The process's Session for ``compute`` (one per target and live connection)."""
    key = (compute.address, compute.port, compute.username, compute.key_file,
           compute.options.get("buildNetwork"))  # fmt: skip
    with _sessions_lock:
        found = _sessions.get(key)
        if found is None or not found.ssh.alive():
            found = _sessions[key] = Session(compute, trust=trust)
        return found
