"""A run's name, tags and note: set at ``exp run``, changed with ``exp runs tag|note|rename``.

They are the user's words about a run, not facts of its execution, so they
can change while it runs: the run's own ``exp`` process carries the stored
ones into every record it writes (:func:`carry`), and an edit is one
``BEGIN IMMEDIATE`` transaction on the index row (:func:`annotate`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from expkit.errors import UsageError
from expkit.model import RunRecord, frozen_map

_TAG_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def parse_tags(words: Iterable[str], *, option: str = "--tag") -> dict[str, str]:
    """``KEY=VALUE`` words as a mapping; a bad word is a usage error (exit 2)."""
    tags: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not _TAG_KEY.fullmatch(key):
            raise UsageError(
                f"{option} {word!r}: expected KEY=VALUE, KEY made of letters, digits, "
                "'_', '.', '-' (e.g. {option} team=a)".replace("{option}", option)
            )
        tags[key] = value
    return tags


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise UsageError("a run name cannot be empty")
    if name.isdigit():
        raise UsageError(f"a run name cannot be all digits ({name!r} reads as a run number)")
    return name


@dataclass(frozen=True)
class Annotations:
    name: str | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)
    note: str | None = None

    @classmethod
    def parse(
        cls, *, name: str | None, tags: Iterable[str], note: str | None
    ) -> Annotations | None:
        tags = list(tags)
        if name is None and not tags and note is None:
            return None
        return cls(
            name=None if name is None else check_name(name),
            tags=frozen_map(parse_tags(tags)),
            note=note,
        )

    def apply(self, record: RunRecord) -> RunRecord:
        return dataclasses.replace(
            record, name=self.name, tags=frozen_map(self.tags), note=self.note
        )


def carry(history, record: RunRecord) -> RunRecord:
    """``record`` with the name, tags and note stored now (edited while it ran)."""
    from expkit.history.records import from_dict

    row = history.conn.execute("SELECT record FROM runs WHERE id = ?", (record.id,)).fetchone()
    if row is None:
        return record
    try:
        stored = from_dict(json.loads(row[0]))
    except (ValueError, TypeError, KeyError):
        return record
    return dataclasses.replace(record, name=stored.name, tags=stored.tags, note=stored.note)


def annotate(
    history,
    record: RunRecord,
    *,
    name: str | None = None,
    clear_name: bool = False,
    set_tags: Mapping[str, str] | None = None,
    remove_tags: Iterable[str] = (),
    note: str | None = None,
) -> RunRecord:
    """Change ``record``'s annotations in the index (one transaction), then its record.json."""
    from expkit.history.records import from_dict, to_json

    with history._transaction() as conn:
        row = conn.execute("SELECT record FROM runs WHERE id = ?", (record.id,)).fetchone()
        current = from_dict(json.loads(row[0])) if row else record
        tags = dict(current.tags)
        tags.update(set_tags or {})
        for key in remove_tags:
            tags.pop(key, None)
        changed = dataclasses.replace(
            current,
            name=None if clear_name else (current.name if name is None else check_name(name)),
            tags=frozen_map(tags),
            note=current.note if note is None else (note or None),
        )
        conn.execute("UPDATE runs SET record = ? WHERE id = ?", (to_json(changed), record.id))
    # The row may have moved on (the run finished) since: mirror what is there now.
    latest = history.get(record.id)
    history._write_record(latest)
    return latest
