"""What a tracked run caches by content so the next one does less: canonical pip
requirements (no packaging import on a warm run), and atomic writes without tempfile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from expkit.errors import ConfigError
from expkit.fsutil import atomic_write_text

CONDA = """\
dependencies:
  - python=3.11
  - pip:
    - Foo_Bar >= 1.0
    - requests[Socks,security]==2.31 ; python_version >= "3.8"
    - ./wheels/pkg-1.0-py3-none-any.whl
"""

PARSE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from expkit.environment import load_conda_file
    spec = load_conda_file(Path(sys.argv[1]), project=Path(sys.argv[2]))
    print(json.dumps({"pip": list(spec.pip), "local": dict(spec.local_files),
                      "packaging": "packaging" in sys.modules}))
    """
)


def _parse(project: Path, cache: Path) -> dict:
    env = {**os.environ, "EXPKIT_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(project / "conda.yml"), str(project)],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "wheels").mkdir(parents=True)
    (root / "wheels" / "pkg-1.0-py3-none-any.whl").write_bytes(b"wheel v1")
    (root / "conda.yml").write_text(CONDA)
    return root


def test_a_warm_parse_gives_the_same_spec_without_packaging(project, tmp_path):
    cache = tmp_path / "cache"
    cold = _parse(project, cache)
    assert cold["packaging"] is True
    assert cold["pip"] == sorted(
        [
            "foo-bar>=1.0",
            'requests[security,socks]==2.31; python_version >= "3.8"',
            "./wheels/pkg-1.0-py3-none-any.whl",
        ]
    )
    warm = _parse(project, cache)
    assert warm == {**cold, "packaging": False}
    # A local file is hashed every time, never taken from the cache.
    (project / "wheels" / "pkg-1.0-py3-none-any.whl").write_bytes(b"wheel v2")
    changed = _parse(project, cache)
    assert changed["pip"] == cold["pip"] and changed["local"] != cold["local"]


def test_a_stale_or_broken_cache_is_ignored(project, tmp_path):
    cache = tmp_path / "cache"
    cold = _parse(project, cache)
    store = cache / "environment" / "pip-requirements.json"
    data = json.loads(store.read_text())
    data["expkit"] = "0.0.0-other"
    data["entries"]["Foo_Bar >= 1.0"] = "wrong"
    store.write_text(json.dumps(data))
    assert _parse(project, cache)["pip"] == cold["pip"]
    store.write_text("{broken")
    assert _parse(project, cache)["pip"] == cold["pip"]


def test_an_invalid_requirement_is_never_cached(tmp_path, monkeypatch):
    from expkit.environment import pip

    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(pip, "_cache", None)

    def error(message: str, **_kw: object) -> ConfigError:
        return ConfigError(message)

    for _ in range(2):
        with pytest.raises(ConfigError, match="not a valid pip requirement"):
            pip.canonical_pip_entry("foo >>= 1", tmp_path, error)
    assert "foo >>= 1" not in pip._known()


def test_atomic_write_replaces_whole_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "record.json"
    atomic_write_text(target, "one", mode=0o640)
    atomic_write_text(target, "two", mode=0o640, durable=False)
    assert target.read_text() == "two"
    assert (target.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
