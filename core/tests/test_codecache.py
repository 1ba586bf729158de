"""expkit.codecache: dataclass methods compiled once, reused by the next process."""

from __future__ import annotations

import dataclasses
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from expkit import codecache


@pytest.fixture
def cache(tmp_path: Path):
    codecache.install(str(tmp_path))
    yield tmp_path
    codecache.uninstall()


def _define():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    return Point


def test_classes_behave_the_same_through_the_cache(cache: Path) -> None:
    Point = _define()
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags) == (1, 0, ("a",))
    assert p == Point(1, 0, ("a",)) and hash(p) == hash(Point(1, 0, ("a",)))
    assert repr(p).endswith("Point(x=1, y=0, tags=('a',))")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    assert dataclasses.replace(p, y=5).y == 5
    # Generated annotations stay objects: the cache compiles without __future__ flags.
    assert Point.__init__.__annotations__["return"] is None


def test_saved_file_is_private_and_read_by_the_next_process(cache: Path) -> None:
    _define()
    codecache.save()
    (saved,) = cache.glob("dataclass-code-*.marshal")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    before = saved.stat().st_mtime_ns
    # A second process defining the same class compiles nothing: the file is not rewritten.
    script = textwrap.dedent(
        f"""
        import dataclasses, sys
        from expkit import codecache
        codecache.install({str(cache)!r})
        compiled = []
        real = compile
        codecache.compile = lambda *a, **k: compiled.append(1) or real(*a, **k)
        @dataclasses.dataclass(frozen=True)
        class Point:
            x: int
            y: int = 0
            tags: tuple[str, ...] = ()
        codecache.save()
        print(len(compiled))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    assert saved.stat().st_mtime_ns == before


def test_a_damaged_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    target = Path(codecache.cache_file(str(tmp_path)))
    target.write_bytes(b"\x00not marshal")
    codecache.install(str(tmp_path))
    try:
        assert _define()(3).x == 3
        codecache.save()
    finally:
        codecache.uninstall()
    assert target.read_bytes() != b"\x00not marshal"


def test_an_unwritable_folder_costs_nothing_but_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a folder below a file cannot exist, whoever runs the test
    codecache.install(str(blocker / "cache"))
    try:
        assert _define()(1).y == 0
        codecache.save()  # no exception: the cache is an optimisation only
    finally:
        codecache.uninstall()
    assert list(tmp_path.iterdir()) == [blocker]


def test_stale_entries_are_dropped_beyond_the_bound(cache: Path, monkeypatch) -> None:
    monkeypatch.setattr(codecache, "MAX_ENTRIES", 3)
    for _ in range(3):  # fills the cache with texts this process then stops using
        codecache._codes[f"# stale {_}\n"] = compile("pass", "<s>", "exec")
    _define()
    codecache.save()
    codecache.uninstall()
    codecache.install(str(cache))
    assert not any(text.startswith("# stale") for text in codecache._codes)
    assert codecache._codes  # what the saving process used is kept


def test_uninstall_gives_dataclasses_the_builtin_exec(tmp_path: Path) -> None:
    codecache.install(str(tmp_path))
    assert dataclasses.exec is codecache._cached_exec  # type: ignore[attr-defined]
    codecache.uninstall()
    assert "exec" not in vars(dataclasses)


def test_only_dataclasses_generated_text_is_cached(cache: Path) -> None:
    """Any other text given to the replaced exec runs as the builtin would, uncached."""
    namespace: dict = {}
    codecache._cached_exec("x = 1 + 1", {}, namespace)
    assert namespace == {"x": 2}
    assert "x = 1 + 1" not in codecache._codes
    _define()
    assert codecache._codes and all(t.startswith("def __create_fn__(") for t in codecache._codes)
