"""Symbolic links in a container run's collected ``outputs/``, in the container's terms.

The rule is every target's (expkit.outputs: a link is copied when it stays
inside ``outputs/``, else dropped unread, with a note). What is Docker's own
is where the links come from: the container's archive, as names and link
texts read against the folder's path *in the container*. :func:`placed`
decides there which links stay inside ``outputs/``; only those are written
here, as relative links, and then settled (:func:`settle`), which reads
nothing outside the collected folder.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from expkit.outputs import OUTSIDE, inside, settle

__all__ = ["OUTSIDE", "files_under", "placed", "settle"]


def placed(name: str, linkname: str, source: str) -> str | None:
    """The relative link text to write for member ``name`` -> ``linkname``, or None.

    ``source`` is the collected folder's path in the container; ``name`` is
    relative to it. None when the link leaves ``source`` there (absolute
    elsewhere, or climbing out with ``..``). (A link to ``source`` itself is
    written; :func:`settle` drops it as a loop.)
    """
    where = posixpath.dirname(posixpath.join(source, name))
    target = posixpath.normpath(posixpath.join(where, linkname))  # absolute linkname wins
    if not inside(target, source, "/"):
        return None
    return posixpath.relpath(target, where)


def files_under(root: str) -> list[str]:
    """Regular files under ``root`` (relative POSIX paths, sorted); links not followed."""
    from expkit.outputs import list_outputs

    return list(list_outputs(Path(root)))
