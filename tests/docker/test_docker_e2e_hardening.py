"""Issue 8 through the real CLI on the docker target: hostile script names, link
amplification and collection bounds, collecting large outputs."""

from __future__ import annotations

import pytest
from docker_e2e import record

pytestmark = pytest.mark.docker

HOSTILE = '-cprint("NAME-AS-CODE")'


def test_a_script_named_like_an_option_runs_as_a_file(docker_project):
    docker_project.write(HOSTILE, "import sys\nprint('ran as a file', sys.argv[1:])\n")
    result = docker_project.exp("run", "-c", "docker", f"./{HOSTILE}", "--x")
    assert "NAME-AS-CODE" not in result.stdout, result.output
    assert "ran as a file ['--x']" in result.stdout, result.output
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    assert rec["script"] == HOSTILE and rec["status"] == "completed"
