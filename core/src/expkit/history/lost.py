"""Lost runs: active runs whose owning ``exp`` process died (SIGKILL, a crash, a reboot).

Mixed into expkit.history.History, whose index and run folders it uses. A
run's owner is in its index row and, so that a rebuilt index keeps it, in
its folder's ``owner.json`` (expkit.history.owner).
"""

from __future__ import annotations

import dataclasses
import json
import time

from expkit.history import owner as owners
from expkit.history.records import ACTIVE, from_dict, list_outputs, read_metrics, to_json
from expkit.model import RunRecord

LOST = "lost"
#: expkit.runner.detached.MARKER: a run that goes on without its exp is never lost.
DETACHED_MARKER = "detached.json"


class LostRuns:
    """The lost-run half of History (see expkit.history.store)."""

    def reap_lost(self) -> list[RunRecord]:
        """Mark active runs whose owning ``exp`` process is gone as failed ("lost").

        Returns the runs this call marked. A run whose owner is unknown (no
        owner was ever recorded) is never marked: it cannot be told from a
        live one. The caller stops what a lost run left behind (expkit.runner.orphans).
        """
        if self._empty():
            return []
        self._reopen_if_replaced()  # `logs -f` and `cancel` call this in a loop
        rows = self.conn.execute(
            "SELECT id, owner_pid, owner_host, owner_start FROM runs "
            "WHERE status IN (?, ?) AND owner_pid IS NOT NULL",
            ACTIVE,
        ).fetchall()
        reaped = []
        for run_id, pid, host, start in rows:
            if owners.is_alive(owners.Owner(pid, host or "", start or "")):
                continue
            if (self.run_dir(run_id) / DETACHED_MARKER).is_file():
                continue  # it goes on without its exp (expkit.runner.detached settles it)
            record = self.mark_lost(run_id)
            if record is not None:
                reaped.append(record)
        return reaped

    def mark_lost(self, run_id: str) -> RunRecord | None:
        """Mark one active run lost whatever its owner (reap_lost; ``exp runs cancel``
        of a run with no known owner); None when it is not active (any more)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT status, record FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row[0] not in ACTIVE:
                return None  # finished meanwhile
            ended = self._finished_on_disk(run_id)
            if ended is not None:
                # Its exp wrote the end to record.json but not here (the index was
                # replaced under it): the run did end, it was not lost.
                conn.execute(
                    "UPDATE runs SET status = ?, record = ? WHERE id = ?",
                    (ended.status, to_json(ended), run_id),
                )
                return None
            record = self._as_lost(from_dict(json.loads(row[1])))
            conn.execute(
                "UPDATE runs SET status = ?, record = ? WHERE id = ?",
                (record.status, to_json(record), run_id),
            )
        self._write_record(record)
        return record

    def _finished_on_disk(self, run_id: str) -> RunRecord | None:
        try:
            data = json.loads((self.run_dir(run_id) / "record.json").read_text(encoding="utf-8"))
            record = from_dict(data)
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return record if record.status not in ACTIVE else None

    def _as_lost(self, record: RunRecord) -> RunRecord:
        folder = self.run_dir(record.id)
        metrics, series = read_metrics(folder / "metrics.jsonl")
        ended = time.time()
        return dataclasses.replace(
            record,
            status="failed",
            error=LOST,
            ended=ended,
            duration_s=round(ended - record.started, 3) if record.started else None,
            metrics=metrics or record.metrics,
            series=series or record.series,
            outputs=list_outputs(folder / "outputs") or record.outputs,
        )

    def owner_of(self, run_id: str) -> owners.Owner | None:
        row = self.conn.execute(
            "SELECT owner_pid, owner_host, owner_start FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return owners.Owner(row[0], row[1] or "", row[2] or "")
