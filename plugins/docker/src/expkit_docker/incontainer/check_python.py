"""Run inside a build container: does this interpreter meet the environment's python pin?

Usage: python check_python.py PIN   (PIN as written after ``python`` in
conda_dependencies.yml: ``3.11``, ``3.11.2``, ``3.11.*``, ``>=3.9,<3.13``, or
empty for no pin). Prints ``##[expkit-python] VERSION EXECUTABLE`` and exits
98 when the pin is not met. Standard library only, Python 2.7-compatible
syntax so an old base image still gets a clear answer.
"""

import platform
import re
import sys

HAVE = tuple(int(x) for x in re.findall(r"\d+", platform.python_version())[:3])


def parse(text):
    return tuple(int(x) for x in re.findall(r"\d+", text))


def matches(clause):
    clause = clause.strip()
    m = re.match(r"^(==|!=|>=|<=|>|<|=|~=)?\s*([0-9][0-9.*]*)$", clause)
    if not m:
        return True  # a form we do not understand: let the build decide
    op, version = m.group(1) or "=", m.group(2).rstrip(".*").rstrip(".")
    want = parse(version)
    have = HAVE[: len(want)]
    if op in ("=", "==", "~="):
        return have == want
    if op == "!=":
        return have != want
    return {
        ">=": HAVE >= want,
        "<=": have <= want,
        ">": HAVE > want and have != want,
        "<": have < want,
    }[op]


def main():
    pin = sys.argv[1] if len(sys.argv) > 1 else ""
    print("##[expkit-python] %s %s" % (platform.python_version(), sys.executable))
    sys.stdout.flush()
    clauses = [c for c in re.split(r"[,\s]+", pin) if c] if "," in pin else ([pin] if pin else [])
    if not all(matches(c) for c in clauses):
        sys.exit(98)


main()
