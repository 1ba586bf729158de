"""``aml_config/<name>.compute``: where a run executes.

Workbench wrote these files; expkit reads them unchanged. The ``type`` is
resolved through the plugin registry (so ``localdocker`` means ``docker``),
and the keys the target type declares in ``TargetType.compute_keys`` are
accepted besides the standard ones and kept in ``ComputeTarget.options``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from expkit.config.fields import Fields, check_name
from expkit.errors import ConfigError
from expkit.model import ComputeTarget, TargetType, frozen_map
from expkit.yamlio import YamlDoc

if TYPE_CHECKING:
    from expkit.plugins import Registry

#: Workbench (YAML) key -> ComputeTarget field, for every standard key but ``type``.
STRING_KEYS = {
    "address": "address",
    "username": "username",
    "password": "password",
    "keyFile": "key_file",
    "baseDockerImage": "base_docker_image",
    "nativeSharedDirectory": "native_shared_directory",
    "pythonLocation": "python_location",
    "sparkSubmitLocation": "spark_submit_location",
}
BOOL_KEYS = {
    "sharedVolumes": "shared_volumes",
    "nvidiaDocker": "nvidia_docker",
    "userManagedEnvironment": "user_managed_environment",
}
STANDARD_KEYS = frozenset({"type", "port", *STRING_KEYS, *BOOL_KEYS})
#: Key order used when showing a target.
DISPLAY_ORDER = (
    "type", "address", "port", "username", "keyFile", "password", "baseDockerImage",
    "sharedVolumes", "nvidiaDocker", "nativeSharedDirectory", "userManagedEnvironment",
    "pythonLocation", "sparkSubmitLocation",
)  # fmt: skip

EXAMPLE = 'type: local, pythonLocation: python   (one "key: value" per line)'


def resolve_type(registry: Registry, type_name: str, doc: YamlDoc | None) -> TargetType:
    """The TargetType of ``type_name``; the unknown-type error gains the line and a
    did-you-mean over installed and well-known type names."""
    from expkit.plugins import KNOWN_PROVIDERS

    try:
        return registry.resolve(type_name, source=doc.path if doc else None)
    except ConfigError as err:
        if doc is not None:
            err.line = doc.line("type")
        from difflib import get_close_matches  # only for a message: not at start-up

        close = get_close_matches(type_name, sorted({*registry.types, *KNOWN_PROVIDERS}), n=1)
        if close and close[0] != type_name:
            err.hint = (err.hint or "") + f"\n  did you mean {close[0]!r}?"
        raise


def parse_compute(doc: YamlDoc, name: str, registry: Registry) -> ComputeTarget:
    """Validate a parsed ``.compute`` document and build its ComputeTarget.

    ``ComputeTarget.type`` is the canonical type name (aliases resolved), so a
    plugin compares it against its own ``TargetType.name`` only.
    """
    fields = Fields.top(doc, "compute target", EXAMPLE)
    type_name = fields.string(
        "type",
        required=True,
        hint="set the target type, e.g. `type: local` (see `exp plugins` for installed types).",
    )
    assert type_name is not None
    ttype = resolve_type(registry, type_name.strip(), doc)
    extra = set(ttype.compute_keys) - STANDARD_KEYS
    fields.reject_unknown(STANDARD_KEYS | extra, hint=_unknown_key_hint(fields, registry, ttype))
    values: dict[str, Any] = {}
    for key, attr in STRING_KEYS.items():
        values[attr] = fields.string(key)
    for key, attr in BOOL_KEYS.items():
        values[attr] = fields.boolean(key)
    values["shared_volumes"] = bool(values["shared_volumes"])
    values["nvidia_docker"] = bool(values["nvidia_docker"])
    values["port"] = fields.integer("port", 1, 65535)
    options = {key: doc.data[key] for key in sorted(extra) if key in doc.data}
    return ComputeTarget(
        name=name,
        type=ttype.name,
        options=frozen_map(options),
        source=doc.path,
        **values,
    )


def _unknown_key_hint(fields: Fields, registry: Registry, ttype: TargetType) -> str:
    """Say so when an unknown key belongs to another target type (a copied file)."""
    hint = (
        f"remove it, or fix its spelling (keys are case-sensitive; "
        f"target type {ttype.name!r} is provided by {ttype.package})."
    )
    unknown = [k for k in fields.data if k not in STANDARD_KEYS | set(ttype.compute_keys)]
    if unknown:
        owners = sorted({t.name for t in registry.primary_types() if unknown[0] in t.compute_keys})
        if owners:
            hint += (
                f"\n  {unknown[0]!r} is a key of target type {', '.join(owners)}, not {ttype.name}."
            )
    return hint


def compute_notes(compute: ComputeTarget) -> list[str]:
    """What the user should know about a target that parsed fine."""
    notes = []
    if compute.password:
        where = compute.source or f"{compute.name}.compute"
        notes.append(
            f"{where}: a password in the file is used only to log in when no SSH key is "
            "accepted, and is never copied or written anywhere; move to a key: add "
            "`keyFile: ~/.ssh/id_ed25519` (with the public key on the target, "
            "`ssh-copy-id`) and remove `password` from the file."
        )
    return notes


def compute_data(compute: ComputeTarget, *, mask: bool = True) -> dict[str, Any]:
    """The target as Workbench keys (set values only), for display; the password
    is shown as ``***`` (or dropped when ``mask`` is False), never in clear."""
    fields_by_key = {"type": "type", "port": "port", **STRING_KEYS, **BOOL_KEYS}
    data: dict[str, Any] = {}
    for key in DISPLAY_ORDER:
        value = getattr(compute, fields_by_key[key])
        if key == "password":
            if value and mask:
                data[key] = "***"
            continue
        if value is None or (key in ("sharedVolumes", "nvidiaDocker") and value is False):
            continue
        data[key] = value
    data.update(compute.options)
    return data


def clean_compute_data(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What may be written to ``<name>.compute``: never a password."""
    check_name(name)
    return {str(k): v for k, v in data.items() if k != "password"}
