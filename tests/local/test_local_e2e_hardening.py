"""Issue 8 through the real CLI on the local target: hostile script names, secrets kept
out of everything exp writes, hard-linked and link-amplified outputs, collection bounds."""

from __future__ import annotations

import json

from local_e2e import run_record

HOSTILE = '-cprint("NAME-AS-CODE")'


def test_a_script_named_like_an_option_runs_as_a_file(local_project):
    local_project.write(HOSTILE, "import sys\nprint('ran as a file', sys.argv[1:])\n")
    result = local_project.exp("run", "-c", "local", f"./{HOSTILE}", "--x")
    assert "NAME-AS-CODE" not in result.stdout, result.output
    assert "ran as a file ['--x']" in result.stdout, result.output
    assert result.returncode == 0, result.output
    record = run_record(local_project)
    assert record["script"] == HOSTILE and record["status"] == "completed"
    assert json.dumps(record["args"]) == '["--x"]'
