"""How to install another first-party package, from where expkit itself came.

The first-party plugins are not published on a package index: a hint that
says ``pip install expkit-docker`` sends a user who installed expkit from a
source folder or a git URL to an install that cannot work. expkit's own
install record (PEP 610 ``direct_url.json``) says where it came from, and
every first-party plugin lives beside the core in the same source tree
(``plugins/<name>``), so the hint names that place. Used on error paths only.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

#: Each first-party distribution's folder in the source tree, beside ``core/``.
SOURCE_DIRS = {
    "expkit-local": "plugins/local",
    "expkit-docker": "plugins/docker",
    "expkit-remotedocker": "plugins/remotedocker",
    "expkit-hdinsight": "plugins/hdinsight",
}


def _origin() -> dict | None:
    """expkit's PEP 610 record: None when it came from a package index."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("expkit").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _installer() -> str:
    """The install command for the interpreter running ``exp``."""
    import importlib.util
    import shutil

    python = shlex.quote(sys.executable)
    if importlib.util.find_spec("pip") is None and shutil.which("uv"):
        return f"uv pip install --python {python}"
    return f"{python} -m pip install"


def install_command(distribution: str) -> str:
    """The command that installs first-party ``distribution`` the way expkit was installed."""
    subdir = SOURCE_DIRS.get(distribution)
    origin = _origin()
    install = _installer()
    if subdir is None or origin is None:
        return f"{install} {distribution}"
    url = str(origin.get("url", ""))
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict):
        # git+https://host/expkit.git@COMMIT#subdirectory=core -> the same tree's plugin folder.
        ref = vcs.get("commit_id") or vcs.get("requested_revision")
        where = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{ref}" if ref else "")
        return f"{install} {shlex.quote(f'{where}#subdirectory={subdir}')}"
    if url.startswith("file:") and "dir_info" in origin:
        core = Path(unquote(urlparse(url).path))
        folder = core.parent / subdir
        if folder.is_dir():
            editable = (origin.get("dir_info") or {}).get("editable")
            return f"{install} {'-e ' if editable else ''}{shlex.quote(str(folder))}"
    # A wheel or archive: built from the same source tree as expkit's own.
    return (
        f"{install} {distribution} --find-links DIR  (DIR: where expkit's own wheel came from; "
        f"{distribution} is built from {subdir} of the expkit source)"
    )
