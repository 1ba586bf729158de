"""What counts as a secret, in one place: keys and variable names, and well-known files.

expkit never writes a secret value: copies of configuration files in a
snapshot carry their secret-bearing keys removed (:func:`redact_config_text`),
the parsed-YAML cache never holds their values (expkit.yamlio), and files
that usually hold keys or credentials are left out of snapshots unless a
rule includes them on purpose (:data:`SECRET_FILE_RULES`, applied by
expkit.snapshot.walk).

The name rule (:func:`is_secret_name`) is public: remote targets use it
before anything leaves this machine. It reads a name as words (``API_TOKEN``,
``apiToken``, ``db-password``) and matches words such as ``password``,
``secret``, ``token`` or ``credentials``, and pairs such as ``api key`` or
``access key``. A ``.compute`` ``password`` matches it, as do
``EnvironmentVariables`` named like secrets in a ``.runconfig``.

Standard library only; PyYAML is imported only for a file that names a
secret-like key.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_WORDS = frozenset({
    "password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tokens",
    "credential", "credentials", "apikey", "privatekey", "accesskey", "sas",
})  # fmt: skip
_PAIRS = frozenset({
    ("api", "key"), ("access", "key"), ("private", "key"), ("account", "key"),
    ("ssh", "key"), ("signing", "key"), ("encryption", "key"), ("connection", "string"),
})  # fmt: skip


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled on first use: a warm run never needs them (compiling costs a run)."""
    return (
        re.compile(r"(?<=[a-z0-9])(?=[A-Z])"),  # camelCase boundaries
        re.compile(r"[^A-Za-z0-9]+"),  # word separators
        # Inside a longer word too (``PGPASSWORD``, ``dbpasswd``, ``clientsecret``).
        re.compile(r"password|passwd|secret"),
        # A cheap first look at a file's text: could any key in it be secret-like?
        re.compile(r"(?i)pass|pwd|secret|token|credential|key|sas|connection.?string"),
        # A ``key:`` line, for files that do not parse.
        re.compile(r"""^\s*-?\s*["']?([^"':#\s][^"':#]*?)["']?\s*:(\s|$)"""),
    )


#: Files left out of snapshots unless a rule includes them (gitignore syntax,
#: the lowest-priority rules: any .gitignore/.amlignore rule wins over them).
SECRET_FILE_RULES = (
    ".env", ".env.*", "!.env.example", "!.env.sample", "!.env.template",
    ".ssh/", ".gnupg/", ".aws/", ".azure/", ".kube/", ".docker/config.json",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.ppk",
    ".netrc", "_netrc", ".pypirc", ".npmrc", ".pgpass", ".git-credentials",
    "credentials", "!credentials/", "credentials.json", "*.credentials", "service-account*.json",
    "secrets.yaml", "secrets.yml", "secrets.json", ".htpasswd",
)  # fmt: skip
#: Configuration files whose snapshot copies are redacted (by suffix).
CONFIG_SUFFIXES = (".compute", ".runconfig")


def is_secret_name(name: str) -> bool:
    """True when ``name`` (a key or variable name) is named like a secret."""
    camel, split, infix = _patterns()[:3]
    words = [w for w in split.split(camel.sub("_", str(name)).lower()) if w]
    if any(w in _WORDS or infix.search(w) for w in words):
        return True
    if "".join(words) in _WORDS:
        return True
    return any(pair in _PAIRS for pair in zip(words, words[1:], strict=False))


def redact(data: Any) -> tuple[Any, list[tuple]]:
    """``data`` without mapping entries named like secrets (any depth), and their key paths.

    The input is not changed; what is unchanged is shared, not copied.
    """
    removed: list[tuple] = []

    def walk(value: Any, path: tuple) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and is_secret_name(key):
                    removed.append((*path, key))
                else:
                    out[key] = walk(item, (*path, key))
            return out
        if isinstance(value, list):
            return [walk(item, (*path, i)) for i, item in enumerate(value)]
        return value

    return walk(data, ()), removed


def is_config_copy(path: str) -> bool:
    """Whether a snapshot copy of ``path`` (POSIX, relative) is redacted."""
    return path.endswith(CONFIG_SUFFIXES)


def redact_config_text(data: bytes) -> bytes:
    """A configuration file's bytes with its secret-bearing entries removed.

    Unchanged (same bytes, comments kept) when it names no secret. Otherwise
    the file is written again from its parsed form, with a comment saying
    which keys were removed; a file that does not parse loses every line
    whose key is named like a secret.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data
    maybe, key_line = _patterns()[3:]
    if not maybe.search(text):
        return data  # the usual case: nothing to parse
    import yaml

    try:
        parsed = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        kept = [
            line
            for line in text.splitlines(keepends=True)
            if not ((m := key_line.match(line)) and is_secret_name(m.group(1)))
        ]
        return "".join(kept).encode("utf-8")
    clean, removed = redact(parsed)
    if not removed:
        return data
    from expkit.yamlio import dump_yaml

    names = ", ".join(".".join(str(k) for k in path) for path in removed)
    header = f"# expkit: secret-bearing keys removed from this copy: {names}\n"
    return (header + dump_yaml(clean)).encode("utf-8")


__all__ = [
    "CONFIG_SUFFIXES",
    "SECRET_FILE_RULES",
    "is_config_copy",
    "is_secret_name",
    "redact",
    "redact_config_text",
]
