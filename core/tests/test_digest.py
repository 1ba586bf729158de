"""expkit.digest: the builtin and OpenSSL implementations give the same digests."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from expkit import digest


@pytest.mark.parametrize("size", [0, 1, 1000, digest.SMALL, digest.SMALL + 1, 3 * digest.SMALL])
def test_same_digests_below_and_above_the_small_bound(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert digest.sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert digest.sha1_hex(data) == hashlib.sha1(data).hexdigest()
    stream = digest.sha256_stream(data[:10])
    stream.update(data[10:])
    assert stream.hexdigest() == hashlib.sha256(data).hexdigest()


def test_small_inputs_do_not_load_openssl() -> None:
    code = (
        "import sys\n"
        "from expkit.digest import sha256_hex, sha1_hex\n"
        "sha256_hex(b'x' * 100); sha1_hex(b'y')\n"
        "print('hashlib' in sys.modules, '_hashlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_without_builtins_hashlib_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest, "_builtin_sha256", None)
    monkeypatch.setattr(digest, "_builtin_sha1", None)
    assert digest.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert digest.sha1_hex(b"abc") == hashlib.sha1(b"abc").hexdigest()
