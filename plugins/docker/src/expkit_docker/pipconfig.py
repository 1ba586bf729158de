"""The host's package-index settings, handed to environment builds.

A build inside a container must reach the same package index the user's pip
reaches: a private index URL, the trusted CA bundle of a TLS-inspecting
proxy, proxy variables. These are read here — pip's settings as pip would
use them (expkit.pipconfig: its configuration files, then ``PIP_*``
variables), the CA bundle pip or requests would use, the proxy variables —
and delivered to the build container as files under its build folder, which
the build deletes before the layer is saved (see builder.py). Nothing of
this ends up in an image: not in a layer, not in the image's config or
history.

What cannot work inside a container is dropped with a note: ``file://``
indexes and local find-links folders name host paths.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: pip settings forwarded, as pip.conf keys.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "cert", "proxy")
PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
)
#: Where the CA bundle usually is when nothing names one (Debian/Ubuntu, RHEL, Alpine/macOS).
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)


@dataclass(frozen=True)
class BuildNetwork:
    """Files and variables that let a build reach the package index."""

    #: pip settings (pip.conf keys) to use; ``cert`` is replaced by the copied bundle.
    pip: Mapping[str, str] = field(default_factory=dict)
    #: Proxy variables to export in the build.
    proxies: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: bytes | None = None
    ca_source: str | None = None
    notes: tuple[str, ...] = ()

    def files(self, folder: str) -> list[tuple[str, bytes, int]]:
        """``(name, data, mode)`` of the files to copy into the build folder ``folder``."""
        lines = ["[global]"]
        pip = dict(self.pip)
        if self.ca_bundle is not None:
            pip["cert"] = f"{folder}/net/ca.crt"
        for key in PIP_KEYS:
            if pip.get(key):
                lines.append(f"{key} = {pip[key]}")
        exports = {
            "PIP_CONFIG_FILE": f"{folder}/net/pip.conf",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **self.proxies,
        }
        if self.ca_bundle is not None:
            for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
                exports[name] = f"{folder}/net/ca.crt"
        env = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in exports.items())
        files = [
            ("net/pip.conf", ("\n".join(lines) + "\n").encode(), 0o600),
            ("env.sh", env.encode(), 0o600),
        ]
        if self.ca_bundle is not None:
            files.append(("net/ca.crt", self.ca_bundle, 0o644))
        return files


def _reachable_urls(value: str, key: str, notes: list[str]) -> str:
    kept = []
    for url in value.split():
        if url.startswith("file:") or url.startswith("/"):
            notes.append(
                f"pip {key} {url} is a folder on this machine, not visible to the build: skipped"
            )
        else:
            kept.append(url)
    return " ".join(kept)


def host_build_network(env: Mapping[str, str] | None = None) -> BuildNetwork:
    """What this machine's pip uses to reach its index, ready to hand to a build."""
    from expkit.pipconfig import host_pip_settings

    env = os.environ if env is None else env
    notes: list[str] = []
    pip = host_pip_settings(PIP_KEYS, env)
    for key in ("index-url", "extra-index-url"):
        if key in pip:
            pip[key] = _reachable_urls(pip[key], key, notes)
    candidates = [
        pip.pop("cert", None),
        env.get("REQUESTS_CA_BUNDLE"),
        env.get("SSL_CERT_FILE"),
        *SYSTEM_BUNDLES,
    ]
    bundle, source = None, None
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            try:
                bundle, source = Path(candidate).read_bytes(), candidate
                break
            except OSError:
                continue
    proxies = {name: env[name] for name in PROXY_VARS if env.get(name)}
    for name, value in proxies.items():
        if name.lower() != "no_proxy" and ("127.0.0.1" in value or "localhost" in value):
            notes.append(
                f"{name}={value} is this machine's loopback, which a container cannot reach"
            )
    return BuildNetwork(
        pip=pip, proxies=proxies, ca_bundle=bundle, ca_source=source, notes=tuple(notes)
    )
