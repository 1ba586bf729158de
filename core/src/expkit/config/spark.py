"""``spark_dependencies.yml``: Spark configuration, Maven repositories and packages.

Each part becomes ``spark-submit`` arguments (SparkSpec.submit_args), so
values are checked here for what would break that command line: a package
coordinate part containing ``:`` or ``,``, a repository that is not a URL, a
version YAML turned into a number (``0.10`` would silently become ``0.1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from expkit.config.fields import Fields, describe
from expkit.model import SparkPackage, SparkSpec, frozen_map
from expkit.yamlio import YamlDoc, load_yaml

TOP_KEYS = ("configuration", "repositories", "packages")
PACKAGE_KEYS = ("group", "artifact", "version")
URL_SCHEMES = ("http", "https", "file")


def load_spark_file(path: Path) -> SparkSpec:
    """Parse and validate a ``spark_dependencies.yml``; an empty file is an empty spec."""
    return parse_spark(load_yaml(Path(path)))


def parse_spark(doc: YamlDoc) -> SparkSpec:
    if doc.data is None:
        return SparkSpec(source=doc.path)
    fields = Fields.top(
        doc, "Spark dependencies file", "configuration: {}, repositories: [], packages: []"
    )
    fields.reject_unknown(TOP_KEYS)
    configuration = fields.text_map("configuration", allow_null=False) or {}
    return SparkSpec(
        configuration=frozen_map(configuration),
        repositories=_repositories(fields),
        packages=_packages(fields),
        source=doc.path,
    )


def _repositories(fields: Fields) -> tuple[str, ...]:
    from urllib.parse import urlsplit

    urls = fields.text_list("repositories") or ()
    for i, url in enumerate(urls):
        parts = urlsplit(url)
        if (
            parts.scheme not in URL_SCHEMES
            or not (parts.netloc or parts.path.strip("/"))
            or "," in url
        ):
            raise fields.doc.error(
                f"{url!r} is not a repository URL",
                "repositories",
                i,
                hint="use a Maven repository URL such as https://repo1.maven.org/maven2 "
                f"(schemes: {', '.join(URL_SCHEMES)}; no commas).",
            )
    return urls


def _packages(fields: Fields) -> tuple[SparkPackage, ...]:
    items = fields.data.get("packages")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise fields.error(
            f"must be a list of packages, got {describe(items)}",
            "packages",
            hint="each item: {group: ..., artifact: ..., version: ...}",
        )
    packages = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise fields.doc.error(
                "each package must be a mapping with group, artifact and version, "
                f"got {describe(item)}",
                "packages",
                i,
                hint='e.g.  - group: "com.microsoft.ml.spark"\n'
                '          artifact: "mmlspark_2.11"\n'
                '          version: "0.9.9"',
            )
        pkg = Fields(fields.doc, item, ("packages", i))
        pkg.reject_unknown(PACKAGE_KEYS)
        parts = []
        for key in PACKAGE_KEYS:
            value = item.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                raise pkg.error(
                    f"must be text, got {describe(value)}",
                    key,
                    hint=f'quote it: {key}: "{value}" (YAML reads unquoted versions as numbers).',
                )
            text = pkg.string(
                key, required=True, hint="a package needs group, artifact and version."
            )
            assert text is not None
            text = text.strip()
            if any(c in text for c in ":, "):
                raise pkg.error(f"{text!r} must not contain ':', ',' or spaces", key)
            parts.append(text)
        packages.append(SparkPackage(*parts))
    return tuple(packages)
