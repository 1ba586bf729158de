"""The docs cover the whole contract: every hook spec, every CLI command and
option, every configuration key and every in-run variable.

Adding a hook, a command, an option or a key without documenting it fails
here, with the name of what is missing.
"""

from __future__ import annotations

import importlib.util
import inspect
import re

import pytest
from kit_venvs import REPO

DOCS = REPO / "docs"


def _cli_docs():
    spec = importlib.util.spec_from_file_location("cli_docs", REPO / "scripts" / "cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def sections(text: str) -> dict[str, str]:
    """Heading text (backticks stripped) -> the text up to the next heading."""
    parts = re.split(r"^(#{1,6} .*)$", text, flags=re.M)
    found = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        found[heading.lstrip("#").strip().strip("`")] = body
    return found


def hook_specs() -> dict[str, inspect.Signature]:
    from expkit import hookspecs

    return {
        name: inspect.signature(fn)
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")
    }


def test_every_hook_spec_is_documented_with_its_parameters() -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    documented = sections(text)
    specs = hook_specs()
    assert len(specs) >= 8
    missing = [name for name in specs if name not in documented]
    assert not missing, f"hook specs without a section in docs/plugins.md: {missing}"
    for name, signature in specs.items():
        for param in signature.parameters:
            assert f"`{param}`" in documented[name], (
                f"docs/plugins.md, section {name}: parameter `{param}` is not described"
            )


def test_every_value_passed_to_plugins_is_documented() -> None:
    from expkit import model

    documented = sections((DOCS / "plugins.md").read_text(encoding="utf-8"))
    values = [
        name for name, obj in vars(model).items()
        if inspect.isclass(obj) and obj.__module__ == model.__name__ and not name.startswith("_")
        and name != "SparkPackage"  # documented inside SparkSpec
    ]  # fmt: skip
    missing = [name for name in values if name not in documented]
    assert not missing, f"values of expkit.model without a section in docs/plugins.md: {missing}"


def test_every_cli_command_and_option_is_documented() -> None:
    cli_docs = _cli_docs()
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    documented = sections(text)
    commands = list(cli_docs.walk(cli_docs.root_command()))
    assert len(commands) > 10
    root_path, root = commands[0]
    for option in cli_docs.option_names(root):
        assert f"`{option}`" in text, f"docs/cli.md: global option {option} is not documented"
    missing = [" ".join(path) for path, _ in commands[1:] if " ".join(path) not in documented]
    assert not missing, (
        f"commands missing from docs/cli.md: {missing}\n"
        "  run `python scripts/cli_docs.py --write` (and describe them in the prose if needed)"
    )
    for path, command in commands[1:]:
        section = documented[" ".join(path)]
        for option in cli_docs.option_names(command):
            assert f"`{option}`" in section, (
                f"docs/cli.md, `{' '.join(path)}`: option {option} is not documented\n"
                "  run `python scripts/cli_docs.py --write`"
            )


def test_generated_cli_reference_is_up_to_date() -> None:
    cli_docs = _cli_docs()
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert cli_docs.current(text) == cli_docs.generate(), (
        "docs/cli.md's command reference is out of date: run `python scripts/cli_docs.py --write`"
    )


def test_exit_codes_are_documented() -> None:
    from expkit import errors

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in ("EXIT_USAGE", "EXIT_INFRASTRUCTURE", "EXIT_CANCELED"):
        code = getattr(errors, name)
        assert re.search(rf"^\| {code} \|.*`expkit\.errors\.{name}`", text, flags=re.M), (
            f"docs/cli.md: exit code {code} ({name}) is not in the exit-code table"
        )


def _config_keys() -> dict[str, set[str]]:
    from expkit.config import compute, runconfig, spark
    from expkit.environment import conda

    return {
        "`.compute`": set(compute.STANDARD_KEYS),
        "`.runconfig`": set(runconfig.KNOWN_KEYS),
        "`conda_dependencies.yml`": set(conda.KEYS),
        "`spark_dependencies.yml`": set(spark.TOP_KEYS),
    }


def test_every_configuration_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = sections(text)
    for file_heading, keys in _config_keys().items():
        section = next(
            (body for head, body in documented.items() if head.startswith(file_heading.strip("`"))),
            None,
        )
        assert section is not None, f"docs/configuration.md has no section for {file_heading}"
        missing = sorted(
            k for k in keys if not re.search(rf"^\| `{re.escape(k)}` \|", section, re.M)
        )
        assert not missing, (
            f"docs/configuration.md, {file_heading}: keys not in the table: {missing}"
        )


def test_every_run_variable_is_documented() -> None:
    from expkit import runenv

    names = {v for k, v in vars(runenv).items() if k.isupper() and isinstance(v, str)
             and v.startswith("EXPKIT_")}  # fmt: skip
    section = sections((DOCS / "configuration.md").read_text(encoding="utf-8"))["Inside a run"]
    missing = sorted(n for n in names if f"`{n}`" not in section)
    assert not missing, (
        f"docs/configuration.md, 'Inside a run': variables not documented: {missing}"
    )


@pytest.mark.parametrize("page", ["plugins.md", "configuration.md", "cli.md"])
def test_index_links_every_page(page: str) -> None:
    assert f"({page})" in (DOCS / "index.md").read_text(encoding="utf-8")
