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


def test_uninstall_gives_dataclasses_its_own_exec_back(tmp_path: Path) -> None:
    codecache.install(str(tmp_path))
    assert dataclasses.exec is codecache._define_create_fn  # type: ignore[attr-defined]
    codecache.uninstall()
    assert "exec" not in vars(dataclasses)


@pytest.mark.parametrize(
    "text",
    [
        "x = 1 + 1",  # not a definition at all
        "def __create_fn__(a=print('hi')):\n return a",  # a default: code in the first line
        "def __create_fn__(a):\n return a\nprint('more')",  # more than the definition
        "def __create_fn__(a):\n return a\ndef other(): pass",
    ],
)
def test_text_dataclasses_does_not_generate_is_refused_not_run(cache: Path, text: str) -> None:
    """The stand-in for exec only makes the one function of dataclasses' text: anything
    else is refused, before any of it runs, and is not cached."""
    namespace: dict = {}
    with pytest.raises(codecache.UnexpectedText):
        codecache._define_create_fn(text, {"print": pytest.fail}, namespace)
    assert namespace == {} and text not in codecache._codes


def test_the_function_is_the_one_the_text_defines(cache: Path) -> None:
    text = "def __create_fn__(a, b):\n def __init__(self):\n  return a + b\n return __init__"
    namespace: dict = {}
    assert codecache._define_create_fn(text, {"__name__": "mod"}, namespace) is None
    made = namespace["__create_fn__"]
    assert (made.__name__, made.__qualname__, made.__module__) == ("__create_fn__",) * 2 + ("mod",)
    assert made(a=1, b=2)(None) == 3
    # A damaged cache entry (another code for the same text) is compiled again.
    codecache._codes[text] = compile("x = 1", "<s>", "exec")
    codecache._define_create_fn(text, {}, namespace)
    assert namespace["__create_fn__"](a=2, b=2)(None) == 4


def test_only_dataclasses_generated_text_is_cached(cache: Path) -> None:
    _define()
    assert codecache._codes and all(t.startswith("def __create_fn__(") for t in codecache._codes)
