"""Example-based tests of conda_dependencies.yml parsing and the layered ids."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
from expkit.environment import (
    SCHEMA,
    environment_id,
    layer_inputs,
    load_conda_file,
    local_file_paths,
    python_version,
)
from expkit.errors import ConfigError
from expkit.model import EnvironmentSpec

BASE = "sha256:0123456789abcdef"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "aml_config").mkdir()
    return tmp_path


def write(project: Path, text: str, name: str = "aml_config/conda_dependencies.yml") -> Path:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(project: Path, text: str) -> EnvironmentSpec:
    return load_conda_file(write(project, text))


def error_of(project: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(project, text)
    return info.value


WORKBENCH = """
    # Conda environment specification. The dependencies defined in this file will
    # be automatically provisioned for runs against docker, VM, and HDI cluster targets.
    name: project_environment
    dependencies:
      # The python interpreter version.
      - python=3.5.2
      # Required for Jupyter Notebooks.
      - ipykernel=4.6.1
      - scikit-learn
      - pip:
        # The API for Azure Machine Learning Model Management Service.
        - azure-ml-api-sdk==0.1.0a10
        - https://azuremldownloads.blob.core.windows.net/wheels/latest/azureml.assets-1.0.0-py3-none-any.whl?sv=2016-05-31&si=ro-2017&sr=c&sig=xyz
"""


def test_workbench_sample_parses(project):
    spec = load(project, WORKBENCH)
    assert spec.name == "project_environment"
    assert spec.python == "3.5.2" and python_version(spec) == "3.5.2"
    assert spec.channels == ()
    assert spec.conda == ("ipykernel=4.6.1", "scikit-learn")
    assert spec.pip[0] == "azure-ml-api-sdk==0.1.0a10"
    assert spec.pip[1].startswith("https://azuremldownloads") and spec.pip[1].endswith("sig=xyz")
    assert spec.source == project / "aml_config/conda_dependencies.yml"


def test_spelling_equivalences_give_one_id(project):
    a = load(
        project,
        """
        name: a
        channels: [conda-forge, defaults]
        dependencies: [python=3.11, numpy=1.26, Scikit-Learn,
                       {pip: [Foo_Bar==1.0, "Requests[Socks] >= 2"]}]
    """,
    )
    b = load(
        project,
        """
        dependencies:
          - {pip: ["requests[socks]>=2", foo.bar==1.0, foo-bar == 1.0]}
          - scikit-learn
          - numpy =1.26
          - python = 3.11
          - numpy=1.26
        channels:
          - conda-forge
          - defaults
          - conda-forge
        name: something-else   # name is not part of the id
    """,
    )
    assert a.conda == b.conda and a.pip == b.pip and a.channels == b.channels
    assert environment_id(a, BASE) == environment_id(b, BASE)


def test_meaningful_differences_are_kept(project):
    exact = load(project, "dependencies: ['numpy 1.26', numpy==1.26.0, pandas]")
    assert exact.conda == ("numpy 1.26", "numpy==1.26.0", "pandas")
    one = load(project, "dependencies: [{pip: [foo==1.0]}]")
    two = load(project, "dependencies: [{pip: [foo==1.0.0]}]")
    assert environment_id(one, BASE) != environment_id(two, BASE)


def test_channel_order_matters(project):
    a = load(project, "channels: [conda-forge, defaults]")
    b = load(project, "channels: [defaults, conda-forge]")
    assert environment_id(a, BASE).system != environment_id(b, BASE).system


def test_layers_and_inputs():
    spec = EnvironmentSpec(python="3.11", channels=("c",), conda=("b", "a"), pip=("z", "y"))
    ids = environment_id(spec, BASE)
    inputs = layer_inputs(spec, BASE)
    assert inputs["base"] == {"schema": SCHEMA, "layer": "base", "identity": BASE}
    assert inputs["system"]["parent"] == ids.base
    assert inputs["system"]["conda"] == ["a", "b"] and inputs["system"]["python"] == "3.11"
    assert inputs["pip"]["parent"] == ids.system and inputs["pip"]["pip"] == ["y", "z"]
    assert ids.id == ids.pip and len(ids.pip) == 16
    assert all(c in "0123456789abcdef" for c in ids.base + ids.system + ids.pip)
    assert "name" not in inputs["system"] and "name" not in inputs["pip"]


def test_no_spec_still_has_an_id():
    ids = environment_id(None, BASE)
    assert ids == environment_id(EnvironmentSpec(), BASE)
    assert ids != environment_id(None, "other-base")
    assert python_version(None) is None
    with pytest.raises(ValueError):
        environment_id(None, "")


def test_empty_file_is_an_empty_spec(project):
    spec = load(project, "# nothing here\n")
    assert environment_id(spec, BASE) == environment_id(None, BASE)


def test_prefix_is_ignored(project):
    with_prefix = load(project, "dependencies: [numpy]\nprefix: /home/someone/miniconda3/envs/x\n")
    assert environment_id(with_prefix, BASE) == environment_id(
        load(project, "dependencies: [numpy]"), BASE
    )


def test_python_pin_forms(project):
    for text, version in [
        ("python=3.11", "3.11"),
        ("python==3.11.4", "3.11.4"),
        ("python 3.10", "3.10"),
        ("python=3.11.*", "3.11"),
        ("Python = 3.9", "3.9"),
        ("python", None),
    ]:
        assert load(project, f"dependencies: ['{text}']").python == version, text
    assert load(project, "dependencies: [python=3.11, numpy]").conda == ("numpy",)


def test_local_wheel_is_hashed(project):
    wheel = project / "wheels" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"first")
    text = "dependencies: [{pip: [./wheels/demo-1.0-py3-none-any.whl]}]"
    spec = load(project, text)
    assert spec.pip == ("./wheels/demo-1.0-py3-none-any.whl",)
    assert dict(spec.local_files) == {
        "wheels/demo-1.0-py3-none-any.whl": hashlib.sha256(b"first").hexdigest()
    }
    assert local_file_paths(spec, project) == {"wheels/demo-1.0-py3-none-any.whl": wheel}
    before = environment_id(spec, BASE)
    wheel.write_bytes(b"second")
    after = environment_id(load(project, text), BASE)
    assert after.system == before.system and after.pip != before.pip
    # A file: URL and a bare relative path to the same file are the same entry.
    as_url = load(
        project, f"dependencies: [{{pip: ['{wheel.as_uri()}', 'demo @ {wheel.as_uri()}']}}]"
    )
    assert as_url.pip == ("./wheels/demo-1.0-py3-none-any.whl",)
    assert environment_id(as_url, BASE) == after


def test_local_file_outside_project_keeps_absolute_path(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "x-1.0-py3-none-any.whl"
    outside.write_bytes(b"x")
    spec = load(project, f"dependencies: [{{pip: ['{outside}']}}]")
    assert spec.pip == (outside.as_posix(),)
    assert list(spec.local_files) == [outside.as_posix()]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        (
            "name: x\ndependancies: [numpy]\n",
            2,
            ["unknown key 'dependancies'", "did you mean 'dependencies'"],
        ),
        ("- numpy\n", 1, ["is a mapping, not a list"]),
        ("channels: conda-forge\n", 1, ["channels", "must be a list"]),
        ("channels:\n  - defaults\n  - [x]\n", 3, ["channels.1", "non-empty string"]),
        ("dependencies: numpy\n", 1, ["dependencies", "must be a list"]),
        ("dependencies:\n  - numpy\n  - 3.6\n", 3, ["dependencies.1", "conda package spec"]),
        (
            "dependencies:\n  - numpy\n  - pipp: [x]\n",
            3,
            ["unknown key 'pipp'", "did you mean 'pip'"],
        ),
        ("dependencies:\n  - pip: [a]\n  - pip: [b]\n", 3, ["second pip: list", "line 2"]),
        ("dependencies:\n  - pip: requests\n", 2, ["must be a list of pip requirements"]),
        (
            "dependencies:\n  - pip:\n    - requests\n    - {x: 1}\n",
            4,
            ["dependencies.0.pip.1", "requirement string"],
        ),
        ("dependencies:\n  - pip:\n    - 'requests >>> 2'\n", 3, ["not a valid pip requirement"]),
        (
            "dependencies:\n  - pip:\n    - -e ./src\n",
            3,
            ["pip options are not supported", "build a wheel"],
        ),
        (
            "dependencies:\n  - pip:\n    - --index-url https://x\n",
            3,
            ["--index-url", "PIP_INDEX_URL"],
        ),
        (
            "dependencies:\n  - pip:\n    - ./wheels/missing.whl\n",
            3,
            ["local file not found: ./wheels/missing.whl", "relative to the project root"],
        ),
        ("dependencies:\n  - pip:\n    - file://otherhost/x.whl\n", 3, ["must name a local file"]),
        ("dependencies:\n  - python>=3.8\n", 2, ["python=X.Y", "python>=3.8"]),
        (
            "dependencies:\n  - python=3.10\n  - python=3.11\n",
            1,
            ["conflicting python versions", "3.10 (line 2)", "3.11 (line 3)"],
        ),
        ("dependencies:\n  - '%numpy'\n", 2, ["not a conda package spec"]),
        ("dependencies:\n  - 'numpy ^^1'\n", 2, ["not a conda package spec"]),
        ("variables:\n  A: b\n", 1, ["variables", "EnvironmentVariables"]),
        ("name: [a]\n", 1, ["name", "must be a string"]),
        ("dependencies: [numpy\n", 2, ["not valid YAML"]),
    ],
)
def test_bad_input_is_a_clear_error(project, text, line, fragments):
    err = error_of(project, text)
    message = str(err)
    assert str(project / "aml_config/conda_dependencies.yml") in message
    assert err.line == line, message
    for fragment in fragments:
        assert fragment in message, message
    assert err.exit_code == 2


def test_folder_in_pip_list_is_refused(project):
    (project / "src" / "pkg").mkdir(parents=True)
    message = str(error_of(project, "dependencies: [{pip: [./src/pkg]}]"))
    assert "is a folder" in message and "pip wheel" in message


def test_missing_wheel_found_beside_the_conda_file_gets_a_hint(project):
    (project / "aml_config" / "x-1.0-py3-none-any.whl").write_bytes(b"x")
    message = str(error_of(project, "dependencies: [{pip: [./x-1.0-py3-none-any.whl]}]"))
    assert "write ./aml_config/x-1.0-py3-none-any.whl" in message


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_conda_file(tmp_path / "nope.yml")


def test_explicit_project_root(tmp_path):
    (tmp_path / "deps").mkdir()
    (tmp_path / "w-1.0-py3-none-any.whl").write_bytes(b"w")
    path = write(tmp_path, "dependencies: [{pip: [w-1.0-py3-none-any.whl]}]", "deps/env.yml")
    spec = load_conda_file(path, project=tmp_path)
    assert spec.pip == ("./w-1.0-py3-none-any.whl",)
