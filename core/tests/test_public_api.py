"""First-party plugins import only the core modules docs/plugins.md lists as public."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def public_modules() -> set[str]:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    table = text.split("<!-- public-api")[1].split("<!-- /public-api -->")[0]
    return set(re.findall(r"^\| `(expkit(?:\.\w+)*)` \|", table, re.MULTILINE))


def core_imports(source: Path) -> set[str]:
    """The ``expkit...`` modules a file imports (``from expkit import x`` counts as expkit.x)."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "expkit":
                found.update(f"expkit.{alias.name}" for alias in node.names)
            elif node.module.startswith("expkit."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("expkit."))
    return found


def test_public_api_list_names_real_modules():
    listed = public_modules()
    assert {"expkit.hookspecs", "expkit.target", "expkit.model", "expkit.errors"} <= listed
    core = ROOT / "core" / "src"
    for module in listed - {"expkit.ssh"}:  # expkit.ssh: the SSH layer, landing separately
        path = core / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), module


def test_first_party_plugins_import_only_the_public_api():
    listed = public_modules()
    offences = []
    for source in sorted((ROOT / "plugins").glob("*/src/**/*.py")):
        if "incontainer" in source.parts:  # runs inside containers, without expkit
            continue
        for module in sorted(core_imports(source)):
            top = ".".join(module.split(".")[:2])
            if top not in listed and module not in listed:
                offences.append(f"{source.relative_to(ROOT)}: {module}")
    assert offences == [], "plugins import core internals (docs/plugins.md, The public API)"
