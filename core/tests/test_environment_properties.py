"""Property tests: formatting never changes an environment id, meaning always does.

A small semantic model of an environment (python pin, channels, conda and pip
requirements) is rendered to conda_dependencies.yml text with random comments,
indentation, quoting, key order, dependency order, duplicates, operator
whitespace and package-name spelling; the parser must recover exactly the
model's canonical form. Then single semantic mutations must change the right
layers and only those.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from expkit.environment import environment_id, parse_conda_data
from expkit.model import EnvironmentSpec
from expkit.yamlio import parse_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = "sha256:base-image-a"
#: Plain YAML scalars that would not parse as strings, and archive-looking name parts.
RESERVED = {
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
    "python",
    "pip",
    "whl",
    "zip",
    "gz",
    "tgz",
    "bz2",
}

CHANNELS = ("conda-forge", "defaults", "bioconda", "file:///srv/chan", "https://repo.example/x")
PYTHONS = ("3.8", "3.10", "3.11", "3.12", "3.5.2")
CONDA_CONSTRAINTS = ("", "=1.2", "=1.2.3", ">=1.0", ">=1.0,<2", "==2.0", "<3")
PIP_OPS = ("==", ">=", "<=", "!=", "<")

word = st.from_regex(r"[a-z][a-z0-9]{1,5}", fullmatch=True).filter(lambda w: w not in RESERVED)
conda_name = st.builds(
    lambda a, b, sep: a + (sep + b if b else ""),
    word,
    st.one_of(st.just(""), word),
    st.sampled_from(["-", "_"]),
)
pip_name = st.lists(word, min_size=1, max_size=3).map("-".join)
version = st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True)


@dataclass(frozen=True)
class Model:
    python: str | None
    channels: tuple[str, ...]
    conda: frozenset[tuple[str, str]]
    pip: frozenset[tuple[str, str]]  # (canonical name, "op+version" or "")
    wheels: frozenset[tuple[str, bytes]] = frozenset()  # (file name, content)

    def canonical(self) -> tuple:
        return (
            self.python,
            self.channels,
            tuple(sorted({n + c for n, c in self.conda})),
            tuple(sorted({n + s for n, s in self.pip} | {f"./wheels/{f}" for f, _ in self.wheels})),
            {f"wheels/{f}": hashlib.sha256(b).hexdigest() for f, b in sorted(self.wheels)},
        )


models = st.builds(
    Model,
    python=st.one_of(st.none(), st.sampled_from(PYTHONS)),
    channels=st.lists(st.sampled_from(CHANNELS), unique=True, max_size=3).map(tuple),
    conda=st.frozensets(st.tuples(conda_name, st.sampled_from(CONDA_CONSTRAINTS)), max_size=5),
    pip=st.frozensets(
        st.tuples(
            pip_name,
            st.one_of(st.just(""), st.builds(str.__add__, st.sampled_from(PIP_OPS), version)),
        ),
        max_size=5,
    ),
    wheels=st.frozensets(
        st.tuples(
            st.sampled_from(["a-1.0-py3-none-any.whl", "b-2.0.tar.gz"]), st.binary(max_size=8)
        ),
        max_size=2,
    ).filter(lambda ws: len({f for f, _ in ws}) == len(ws)),
)


# --------------------------------------------------------------------------- rendering


def _case(draw, text: str) -> str:
    flips = draw(st.integers(0, 2 ** len(text) - 1))
    return "".join(c.upper() if flips >> i & 1 else c for i, c in enumerate(text))


def _spaced(draw, text: str, ops: str) -> str:
    """Random whitespace around each operator (meaningless in both syntaxes)."""

    def pad(match: re.Match) -> str:
        return draw(st.sampled_from(["", " "])) + match[0] + draw(st.sampled_from(["", " "]))

    return re.sub(f"[{re.escape(ops)}]+", pad, text).replace("  ", " ")


def _scalar(draw, text: str) -> str:
    style = draw(st.sampled_from(["plain", "single", "double"]))
    return {"plain": text, "single": f"'{text}'", "double": f'"{text}"'}[style]


def _comment(draw, indent: int) -> list[str]:
    if draw(st.integers(0, 3)) == 0:
        return [
            " " * draw(st.integers(0, indent))
            + "# "
            + draw(st.sampled_from(["note", "pinned: why", "x  y"]))
        ]
    return []


def _item(draw, indent: int, text: str) -> list[str]:
    tail = draw(st.sampled_from(["", "  # why", " #c", "   "]))
    return _comment(draw, indent) + [" " * indent + "- " + _scalar(draw, text) + tail]


def render(draw, m: Model) -> str:
    indent = draw(st.sampled_from([0, 2, 4]))
    conda_items = []
    for name, constraint in m.conda:
        spelled = _spaced(draw, _case(draw, name) + constraint, "=<>!,")
        conda_items += [spelled] * draw(st.integers(1, 2))
    if m.python is not None:
        form = draw(
            st.sampled_from(["python={}", "python =={}", "Python = {}", "python {}", "python={}.*"])
        )
        conda_items.append(form.format(m.python))
    pip_items = []
    for name, spec in m.pip:
        sep_name = "".join(
            ch if ch != "-" else draw(st.sampled_from(["-", "_", ".", "_-"]))
            for ch in _case(draw, name)
        )
        pip_items += [_spaced(draw, sep_name + spec, "=<>!")] * draw(st.integers(1, 2))
    pip_items += [f"./wheels/{f}" for f, _ in m.wheels]
    pip_items = draw(st.permutations(pip_items))
    conda_items = draw(st.permutations(conda_items))
    deps = [("conda", c) for c in conda_items]
    if pip_items or draw(st.booleans()):
        deps.insert(draw(st.integers(0, len(deps))), ("pip", None))

    blocks = {"name": [f"name: {draw(word)}"]}
    channels = list(m.channels)
    if channels and draw(st.booleans()):
        channels.append(channels[0] + draw(st.sampled_from(["", "/"])))  # a later duplicate is moot
    if channels or draw(st.booleans()):
        if draw(st.booleans()):
            blocks["channels"] = [
                "channels: [" + ", ".join(_scalar(draw, c) for c in channels) + "]"
            ]
        else:
            blocks["channels"] = ["channels:"] + [
                line for c in channels for line in _item(draw, indent, c)
            ]
    if deps:
        lines = ["dependencies:"]
        for kind, text in deps:
            if kind == "conda":
                lines += _item(draw, indent, text)
            else:
                lines += _comment(draw, indent) + [" " * indent + "- pip:"]
                lines += [line for p in pip_items for line in _item(draw, indent + 4, p)]
        blocks["dependencies"] = lines
    order = draw(st.permutations(list(blocks)))
    body = list(itertools.chain.from_iterable(_comment(draw, 0) + blocks[k] for k in order))
    return "\n".join(body) + "\n" * draw(st.integers(1, 2))


# --------------------------------------------------------------------------- helpers

_PROJECT = Path(tempfile.mkdtemp(prefix="expkit-envprops-"))
(_PROJECT / "aml_config").mkdir()


def parse(text: str, m: Model) -> EnvironmentSpec:
    """Write the model's wheels (content-addressed folders keep examples apart) and parse."""
    key = hashlib.sha256(repr(sorted(m.wheels)).encode()).hexdigest()[:12]
    project = _PROJECT / key
    (project / "wheels").mkdir(parents=True, exist_ok=True)
    for name, content in m.wheels:
        (project / "wheels" / name).write_bytes(content)
    doc = parse_yaml(text, project / "aml_config" / "conda_dependencies.yml")
    return parse_conda_data(doc, project=project)


def fields(spec: EnvironmentSpec) -> tuple:
    return (spec.python, spec.channels, spec.conda, spec.pip, dict(spec.local_files))


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(models, st.data())
def test_formatting_never_changes_the_spec_or_id(m, data):
    first = parse(render(data.draw, m), m)
    second = parse(render(data.draw, m), m)
    assert fields(first) == m.canonical()
    assert fields(second) == m.canonical()
    assert environment_id(first, BASE) == environment_id(second, BASE)


def _other(draw, options, current):
    return draw(st.sampled_from([o for o in options if o != current]))


MUTATIONS = (
    "add_conda",
    "drop_conda",
    "change_conda",
    "python",
    "channel_order",
    "add_channel",
    "drop_channel",
    "add_pip",
    "drop_pip",
    "change_pip",
    "wheel_content",
)
PIP_ONLY = {"add_pip", "drop_pip", "change_pip", "wheel_content"}


def mutate(draw, m: Model, kind: str) -> Model | None:
    """``m`` with one semantic change of ``kind``, or None when it does not apply."""
    if kind == "add_conda":
        name = draw(conda_name.filter(lambda n: n not in {x for x, _ in m.conda}))
        return replace(m, conda=m.conda | {(name, draw(st.sampled_from(CONDA_CONSTRAINTS)))})
    if kind == "drop_conda" and m.conda:
        return replace(m, conda=m.conda - {draw(st.sampled_from(sorted(m.conda)))})
    if kind == "change_conda" and m.conda:
        name, constraint = draw(st.sampled_from(sorted(m.conda)))
        new = (name, _other(draw, CONDA_CONSTRAINTS, constraint))
        return (
            replace(m, conda=(m.conda - {(name, constraint)}) | {new})
            if new not in m.conda
            else None
        )
    if kind == "python":
        return replace(m, python=_other(draw, (None, *PYTHONS), m.python))
    if kind == "channel_order" and len(m.channels) > 1:
        return replace(m, channels=m.channels[1:] + m.channels[:1])
    if kind == "add_channel" and len(m.channels) < len(CHANNELS):
        return replace(
            m,
            channels=m.channels
            + (_other(draw, [c for c in CHANNELS if c not in m.channels], None),),
        )
    if kind == "drop_channel" and m.channels:
        return replace(m, channels=m.channels[:-1])
    if kind == "add_pip":
        name = draw(pip_name.filter(lambda n: n not in {x for x, _ in m.pip}))
        return replace(m, pip=m.pip | {(name, "")})
    if kind == "drop_pip" and m.pip:
        return replace(m, pip=m.pip - {draw(st.sampled_from(sorted(m.pip)))})
    if kind == "change_pip" and m.pip:
        name, spec = draw(st.sampled_from(sorted(m.pip)))
        new = (name, draw(st.sampled_from(PIP_OPS)) + draw(version))
        return replace(m, pip=(m.pip - {(name, spec)}) | {new}) if new not in m.pip else None
    if kind == "wheel_content" and m.wheels:
        fname, content = draw(st.sampled_from(sorted(m.wheels)))
        return replace(m, wheels=(m.wheels - {(fname, content)}) | {(fname, content + b"!")})
    return None


@SETTINGS
@given(models, st.sampled_from(MUTATIONS), st.data())
def test_a_semantic_change_changes_exactly_the_right_layers(m, kind, data):
    changed = mutate(data.draw, m, kind)
    if changed is None:
        return
    before = environment_id(parse(render(data.draw, m), m), BASE)
    after = environment_id(parse(render(data.draw, changed), changed), BASE)
    assert after.base == before.base
    assert after.pip != before.pip
    if kind in PIP_ONLY:
        assert after.system == before.system, kind
    else:
        assert after.system != before.system, kind


def spec_of(m: Model) -> EnvironmentSpec:
    python, channels, conda, pip, local_files = m.canonical()
    return EnvironmentSpec(
        python=python, channels=channels, conda=conda, pip=pip, local_files=local_files
    )


@SETTINGS
@given(models)
def test_a_different_base_changes_every_layer(m):
    a, b = environment_id(spec_of(m), BASE), environment_id(spec_of(m), BASE + "-other")
    assert a.base != b.base and a.system != b.system and a.pip != b.pip


@SETTINGS
@given(models)
def test_name_is_not_part_of_any_layer(m):
    spec = spec_of(m)
    assert environment_id(spec, BASE) == environment_id(replace(spec, name="renamed"), BASE)
