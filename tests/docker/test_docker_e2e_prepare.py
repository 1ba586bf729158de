"""Environment images on the docker target: content-hashed layers, warm lookups, build errors."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from docker_e2e import (
    conda_file,
    docker_compute,
    engine_events,
    prepare_json,
    record,
    unique,
)
from docker_helpers import build_conda_channel, build_wheel, image_id
from expkit_docker.buildprotocol import BUILD_DIR
from expkit_docker.names import PROJECT_LABEL

pytestmark = pytest.mark.docker


def _with_wheel(project, name: str, version: str = "1.0", extra_pip: list[str] = ()) -> str:
    wheel = build_wheel(project.root / "wheels", name, version, f"VERSION = {version!r}\n")
    pip = [f"./wheels/{wheel.name}", *extra_pip]
    project.write("aml_config/conda_dependencies.yml", conda_file(pip=pip))
    return wheel.name


def test_cold_prepare_builds_then_warm_prepare_makes_no_build_call(docker_project):
    name = unique()
    wheel = _with_wheel(docker_project, name)
    cold_since = time.time()
    cold = docker_project.exp("prepare", "-c", "docker")
    assert cold.returncode == 0, cold.output
    assert "building the pip layer" in cold.output
    since = time.time()
    warm = prepare_json(docker_project)
    until = time.time() + 0.5
    assert warm["cached"] is True
    assert warm["location"] == f"expkit-env:{warm['env_id']}"
    # pip freeze of the environment: the wheel, installed from the build folder.
    assert warm["packages"] == [f"{name} @ file://{BUILD_DIR}/files/0/{wheel}"]
    # No build: the engine saw no container of this project, no commit or tag of
    # this environment (other test sessions share the engine: their events are theirs).
    ours = {warm["location"], warm["details"]["system_tag"]}

    def of_this_run(event: dict) -> bool:
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if event.get("Type") == "container":
            return attributes.get(PROJECT_LABEL) == str(docker_project.root)
        if event.get("Type") == "image":
            return bool({attributes.get("name"), (event.get("Actor") or {}).get("ID")} & ours)
        return False

    assert [e for e in engine_events(since, until) if of_this_run(e)] == []
    # ... where the cold prepare's build shows, container and image alike.
    cold_types = {e["Type"] for e in engine_events(cold_since, since) if of_this_run(e)}
    assert cold_types == {"container", "image"}


def test_pip_only_change_reuses_the_system_layer(docker_project):
    name = unique()
    _with_wheel(docker_project, name, "1.0")
    first = prepare_json(docker_project)
    system_tag = first["details"]["system_tag"]
    system_before = image_id(system_tag)
    _with_wheel(docker_project, name, "2.0")
    second = docker_project.exp("prepare", "-c", "docker", "--json")
    assert second.returncode == 0, second.output
    assert "building the pip layer" in second.stderr
    assert "building the system layer" not in second.stderr
    import json

    second_env = json.loads(second.stdout)
    assert second_env["layers"]["system"] == first["layers"]["system"]
    assert second_env["env_id"] != first["env_id"]
    assert image_id(system_tag) == system_before
    # The new environment image is built on that very system image.
    layers = {}
    for ref in (system_tag, second_env["location"]):
        out = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        layers[ref] = json.loads(out)
    assert layers[second_env["location"]][: len(layers[system_tag])] == layers[system_tag]


def test_prepare_environment_true_prepares_within_exp_run(docker_project):
    name = unique()
    _with_wheel(docker_project, name)
    docker_project.write(
        "aml_config/docker.runconfig",
        """
        ArgumentVector: ["$file"]
        Target: docker
        Framework: Python
        CondaDependenciesFile: aml_config/conda_dependencies.yml
        PrepareEnvironment: true
    """,
    )
    docker_project.write("use.py", f"import {name}; print('version', {name}.VERSION)\n")
    result = docker_project.exp("run", "-c", "docker", "use.py")
    assert result.returncode == 0, result.output
    assert "building the pip layer" in result.stderr
    assert "version 1.0" in result.stdout
    rec = record(docker_project)
    assert any(p.startswith(f"{name} @ ") or p.startswith(f"{name}==") for p in rec["packages"])


def test_failing_build_shows_the_failing_step_and_the_installer_error(docker_project):
    broken = docker_project.root / "wheels" / "broken-1.0-py3-none-any.whl"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"this is not a zip file " + unique().encode())
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(pip=[f"./wheels/{broken.name}"])
    )
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 3, result.output
    assert "failed at step: install the pip requirements" in result.stderr
    assert "ERROR" in result.stderr and "broken-1.0-py3-none-any.whl" in result.stderr
    assert "full build log:" in result.stderr
    assert "Traceback" not in result.output


def test_python_the_base_image_cannot_provide_is_a_clear_error(docker_project):
    docker_project.write("aml_config/conda_dependencies.yml", conda_file(python="3.5.2"))
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 2, result.output
    assert "python=3.5.2" in result.stderr and "provides Python 3.11" in result.stderr
    assert "conda_dependencies.yml" in result.stderr and "baseDockerImage" in result.stderr
    assert "Traceback" not in result.output


def test_missing_base_image_says_how_to_get_one(docker_project):
    # The pull must fail without leaving this machine: a registry on a closed
    # loopback port refuses at once (test traffic stays on 127.0.0.0/8).
    missing = "127.0.0.1:9/expkit-test-missing:nope"
    docker_project.write(
        "aml_config/docker.compute",
        docker_compute().replace("expkit-base:bookworm", missing),
    )
    result = docker_project.exp("prepare", "-c", "docker")
    assert result.returncode == 3, result.output
    assert missing in result.stderr
    assert "docker pull" in result.stderr and "docker import" in result.stderr
    assert "scripts/" not in result.stderr  # only a clone of the repository has those
    assert "Traceback" not in result.output


def test_pyspark_on_an_image_without_java_or_apt_get_is_a_clear_error(docker_project):
    """Framework: PySpark puts Java (from the image's apt-get) and pyspark in the system
    layer; an image with neither java nor apt-get is a configuration error naming the key."""
    import uuid

    from docker_helpers import BASE_IMAGE

    image = f"expkit-test-noapt:{uuid.uuid4().hex[:10]}"
    maker = f"expkit-test-noapt-{uuid.uuid4().hex[:10]}"
    subprocess.run(["docker", "run", "--name", maker, BASE_IMAGE, "rm", "/usr/bin/apt-get"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        subprocess.run(["docker", "commit", maker, image], check=True, capture_output=True,
                       timeout=120)  # fmt: skip
        docker_project.write(
            "aml_config/docker.compute", f'type: docker\nbaseDockerImage: "{image}"\n'
        )
        docker_project.write(
            "aml_config/docker.runconfig",
            """
            ArgumentVector: ["$file"]
            Target: docker
            Framework: PySpark
            CondaDependenciesFile: aml_config/conda_dependencies.yml
        """,
        )
        docker_project.write("spark.py", "print('spark')\n")
        result = docker_project.exp("run", "-c", "docker", "spark.py")
        assert result.returncode == 2, result.output
        assert "needs Java" in result.stderr and "baseDockerImage" in result.stderr
        assert "Traceback" not in result.output
    finally:
        subprocess.run(["docker", "rm", "-f", maker], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=60)


def test_conda_package_from_a_local_channel_is_installed_and_importable(docker_project, tmp_path):
    name = unique("conda")
    channel = build_conda_channel(tmp_path / "channel", name, "0.1", "VALUE = 'from conda'\n")
    docker_project.write(
        "aml_config/conda_dependencies.yml", conda_file(conda=[name], channels=[channel.as_uri()])
    )
    docker_project.write("use.py", f"import {name}; print('conda says', {name}.VALUE)\n")
    result = docker_project.exp("run", "-c", "docker", "use.py")
    assert result.returncode == 0, result.output
    assert "conda says from conda" in result.stdout
    rec = record(docker_project)
    assert f"{name}=0.1=py_0 (conda)" in rec["packages"]


def _marker_settings(tmp_path, token: str) -> tuple[dict[str, str], list[str]]:
    """Host pip settings that carry marker values: index URL with credentials, trusted
    host, CA bundle, proxies. Every address is a closed loopback port, and the build
    installs a local wheel without dependencies, so nothing is ever contacted."""
    bundle = tmp_path / "marker-ca.pem"
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    real = host_bundle.read_bytes() if host_bundle.is_file() else b""
    bundle.write_bytes(f"# expkit-marker-ca-{token}\n".encode() + real)
    env = {
        "PIP_INDEX_URL": (
            f"http://expkit-marker-user-{token}:expkit-marker-secret-{token}@127.0.0.1:9/simple"
        ),
        "PIP_TRUSTED_HOST": f"expkit-marker-host-{token}",
        "PIP_CERT": str(bundle),
        "HTTPS_PROXY": f"http://expkit-marker-proxy-{token}:pw@127.0.0.1:9",
        "HTTP_PROXY": f"http://expkit-marker-proxy-{token}:pw@127.0.0.1:9",
    }
    markers = [
        f"expkit-marker-secret-{token}", f"expkit-marker-user-{token}",
        f"expkit-marker-host-{token}", f"expkit-marker-ca-{token}",
        f"expkit-marker-proxy-{token}",
    ]  # fmt: skip
    return env, markers


def _scan(chunks, markers: list[bytes], found: set[bytes]) -> None:
    """Add to ``found`` each marker occurring in the byte ``chunks`` (also across chunks)."""
    keep = max(len(m) for m in markers)
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        found.update(m for m in markers if m in window)
        tail = window[-keep:]


def _markers_in_saved_image(ref: str, markers: list[str]) -> set[str]:
    """Markers found anywhere in ``docker save ref``: every layer's files (names and
    contents; a gzip-compressed layer is unpacked), the image config, the manifest."""
    import itertools
    import tarfile
    import zlib

    wanted = [m.encode() for m in markers]
    found: set[bytes] = set()
    layers = 0
    proc = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as saved:
            for member in saved:
                found.update(m for m in wanted if m in member.name.encode())
                if not member.isfile():
                    continue
                data = saved.extractfile(member)
                chunks = iter(lambda: data.read(1 << 20), b"")  # noqa: B023 - used up right here
                first = next(chunks, b"")
                chunks = itertools.chain([first], chunks)
                if first[:2] == b"\x1f\x8b":
                    unzip = zlib.decompressobj(wbits=31)
                    chunks = (unzip.decompress(c) for c in chunks)
                _scan(chunks, wanted, found)
                layers += member.name.endswith("layer.tar") or first[257:262] == b"ustar"
    finally:
        proc.stdout.close()
        assert proc.wait(timeout=120) == 0, "docker save failed"
    assert layers >= 2, "docker save gave no layers to check"
    return {m.decode() for m in found}


def test_host_pip_config_reaches_the_build_and_is_never_baked_in(docker_project, tmp_path):
    """Both layers are built with the host's pip settings; none of them is in the image."""
    name = unique()
    _with_wheel(docker_project, name)
    token = unique("m")
    env, markers = _marker_settings(tmp_path, token)
    # --force: the system layer is built now too, with these settings, not found cached.
    result = docker_project.exp("prepare", "-c", "docker", "--rebuild", "--json", env=env)
    assert result.returncode == 0, result.output
    assert "building the system layer" in result.stderr
    assert "building the pip layer" in result.stderr
    import json

    prepared = json.loads(result.stdout)
    assert any(p.startswith(name) for p in prepared["packages"])
    ref = prepared["location"]
    # The settings did reach pip inside the build ("Looking in indexes: http://user:****@...") ...
    assert f"expkit-marker-user-{token}" in result.stderr
    # ... and nothing of them is in the image's config, labels, env or history ...
    inspect = subprocess.run(
        ["docker", "image", "inspect", ref], capture_output=True, text=True, check=True
    ).stdout
    history = subprocess.run(
        ["docker", "history", "--no-trunc", "--format", "{{json .}}", ref],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    config = json.loads(inspect)[0]["Config"]
    for text in (inspect, history, json.dumps(config.get("Env")), json.dumps(config["Labels"])):
        assert [m for m in markers if m in text] == []
        assert "PIP_CERT" not in text and "ca.crt" not in text
    # ... nor in any file of any layer, nor the build folder's files. (The package the
    # build installed is found: the scan does read the layers' files.)
    build_files = ["expkit-build/net/", "expkit-build/env.sh", "expkit-build/requirements.txt"]
    assert _markers_in_saved_image(ref, [*markers, *build_files, name]) == {name}
