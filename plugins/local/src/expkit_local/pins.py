"""Does an interpreter meet a conda-style ``python=`` pin?

conda reads ``python=3.11`` as "any 3.11.x" and ``python=3.11.7`` as exactly
that release; it also accepts comparison operators, ``,`` (and) and ``|``
(or). Only the numeric release parts are compared: a local managed
environment is built from the interpreter it finds and cannot fetch another.
"""

from __future__ import annotations

import operator
import re

_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|~=|>|<|=)?\s*([0-9][0-9A-Za-z.*+!-]*)\s*$")


def _release(text: str) -> tuple[int, ...]:
    """Numeric release parts: ``3.12.0rc1`` -> (3, 12, 0); ValueError for non-versions."""
    parts = []
    for piece in text.split("."):
        digits = re.match(r"(\d+)[A-Za-z0-9+!-]*$", piece)
        if digits is None:
            raise ValueError(text)
        parts.append(int(digits.group(1)))
    return tuple(parts)


def _clause(version: tuple[int, ...], clause: str) -> bool:
    match = _CLAUSE.match(clause)
    if match is None:
        raise ValueError(clause)
    op, raw = match.group(1) or "", match.group(2)
    wildcard = raw.endswith("*")
    wanted = _release(raw.rstrip("*").rstrip("."))
    if op in ("", "=") or (op == "==" and wildcard):
        # conda: a bare version is a prefix match ("3.11" means 3.11.*).
        return version[: len(wanted)] == wanted
    if op == "~=":
        return version >= wanted and version[: len(wanted) - 1] == wanted[:-1]
    compare = _OPS[op]
    padded = version[: len(wanted)] if op in ("==", "!=") else version
    return compare(padded, wanted)


def satisfies(version: str, pin: str) -> bool:
    """True when ``version`` (``3.11.7``) meets ``pin`` (``3.11``, ``>=3.9,<3.12``).

    Raises ValueError for a pin it cannot read.
    """
    have = _release(version)
    alternatives = [alt for alt in pin.split("|") if alt.strip()]
    if not alternatives:
        raise ValueError(pin)
    return any(
        all(_clause(have, clause) for clause in alt.split(",") if clause.strip())
        for alt in alternatives
    )
