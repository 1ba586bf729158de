"""expkit.secrets (the one rule), the YAML cache without secrets, git's other ignore sources."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest
from expkit.secrets import is_secret_name, redact, redact_config_text
from expkit.snapshot.gitexcludes import _config_value, git_excludes
from expkit.yamlio import load_yaml


@pytest.mark.parametrize(
    "name",
    ["password", "PASSWORD", "db_password", "apiToken", "API_TOKEN", "GITHUB_TOKEN",
     "AWS_SECRET_ACCESS_KEY", "api-key", "ApiKey", "privateKey", "AZURE_STORAGE_CONNECTION_STRING",
     "client_secret", "credentials", "PGPASSWD", "passphrase"],
)  # fmt: skip
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["EXAMPLE_ENV_VAR", "PATH", "keyFile", "SORT_KEY", "bypass", "compass", "MONKEY",
     "author", "username", "address", "baseDockerImage", "ArgumentVector"],
)  # fmt: skip
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_redact_keeps_the_input_and_names_what_it_removed():
    data = {"type": "x", "password": "p", "EnvironmentVariables": {"A": "1", "API_TOKEN": "t"}}
    clean, removed = redact(data)
    assert clean == {"type": "x", "EnvironmentVariables": {"A": "1"}}
    assert removed == [("password",), ("EnvironmentVariables", "API_TOKEN")]
    assert data["password"] == "p"


def test_config_copies_lose_their_secret_keys_only_when_they_have_some():
    plain = b"# a comment\ntype: local\npythonLocation: python\n"
    assert redact_config_text(plain) is plain
    text = b'type: remote\naddress: h\npassword: "s3cret"\nEnvironmentVariables:\n  TOKEN: t0k\n'
    out = redact_config_text(text).decode()
    assert "s3cret" not in out and "t0k" not in out and "address: h" in out
    assert out.startswith("# expkit: secret-bearing keys removed from this copy: password, ")
    broken = b"password: hunter2\n  bad: [unclosed\ntype: x\n"
    assert b"hunter2" not in redact_config_text(broken)


def test_yaml_cache_never_holds_a_secret_and_gives_it_back(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "x.runconfig"
    path.write_text(
        'password: plain-value-1\nEnvironmentVariables:\n  "API_TOKEN": "quoted-value-2"\n'
        "  OTHER: ok\nkey: |\n  block\n"
    )
    first = load_yaml(path).data
    files = list((tmp_path / "cache" / "yaml").iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    blob = files[0].read_bytes()
    assert b"plain-value-1" not in blob and b"quoted-value-2" not in blob
    assert load_yaml(path).data == first  # from the cache, values read back from the file
    assert first["EnvironmentVariables"]["API_TOKEN"] == "quoted-value-2"
    assert list(first) == ["password", "EnvironmentVariables", "key"]


def test_yaml_with_a_secret_that_cannot_be_read_back_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "x.compute"
    path.write_text('password: "esc\\taped"\n')
    assert load_yaml(path).data == {"password": "esc\taped"}
    assert not list((tmp_path / "cache" / "yaml").glob("*.marshal"))


def test_an_old_cache_file_holding_values_is_removed(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "x.compute"
    path.write_text("password: old-secret\n")
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    old = tmp_path / "cache" / "yaml" / (hashlib.sha1(stamp[0].encode()).hexdigest() + ".marshal")
    old.parent.mkdir(parents=True)
    old.write_bytes(marshal.dumps((stamp, {"password": "old-secret"}, {})))
    assert load_yaml(path).data == {"password": "old-secret"}
    assert b"old-secret" not in old.read_bytes()


def test_git_config_value_reading():
    text = '[user]\n\tname = x\n[core]\n\texcludesFile = "~/a b" ; note\n[CORE]\nexcludesfile=/z\n'
    assert _config_value(text, "core", "excludesfile") == "/z"
    assert _config_value("[core]\n excludesfile = ~/g # c\n", "core", "excludesfile") == "~/g"


def test_git_excludes_of_a_project_below_the_top_of_a_worktree(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    common = tmp_path / "main" / ".git"
    (common / "info").mkdir(parents=True)
    (common / "info" / "exclude").write_text("/sub/proj/scratch\n")
    gitdir = common / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "commondir").write_text("../..\n")
    top = tmp_path / "wt"
    (top / "sub" / "proj").mkdir(parents=True)
    (top / ".git").write_text(f"gitdir: {gitdir}\n")
    found = git_excludes(top / "sub" / "proj")
    assert found is not None and found.prefix == "sub/proj"
    assert found.info_exclude == "/sub/proj/scratch\n"
    assert git_excludes(Path("/")) is None


def test_secret_files_are_left_out_with_one_note_and_user_rules_win(tmp_path):
    from expkit.snapshot.walk import MemoryCache, scan

    for name in [".env", ".env.example", "app/.ssh/id_rsa", "certs/ca.pem", "sub/credentials",
                 "credentials/__init__.py", "train.py", "ignored.pem"]:  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".gitignore").write_text("ignored.pem\n")
    (tmp_path / ".amlignore").write_text("!certs/ca.pem\n")
    result = scan(tmp_path, MemoryCache())
    kept = [e.path for e in result.entries]
    assert kept == [".amlignore", ".env.example", ".gitignore", "certs/ca.pem",
                    "credentials/__init__.py", "train.py"]  # fmt: skip
    assert result.notes == [
        "left out of the snapshot as likely secrets: .env, app/.ssh/, sub/credentials. "
        "To include one on purpose, add a negation rule to .amlignore (e.g. `!.env`); "
        "see docs/configuration.md."
    ]
