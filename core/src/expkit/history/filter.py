"""The ``--filter`` language of ``exp runs list`` and ``exp ui``: small, safe, no ``eval``.

    accuracy > 0.9 and lr < 0.5 and tag.team == "a"
    status == "completed" or (loss <= 0.2 and not tag.baseline)
    name ~ "resnet"

Grammar (keywords are case-insensitive)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "~") operand]
    operand := NAME | NUMBER | STRING | "true" | "false" | "null" | "(" expr ")"

A NAME is letters, digits, ``_``, ``.`` and ``-`` (not first), or any text in
backquotes (```my metric```). It names, in this order: a run field (``run``,
``id``, ``status``, ``target``, ``name``, ``script``, ``note``, ``took``,
``exit``, ``started``...), a parameter, a metric; ``param.X``, ``metric.X``
and ``tag.X`` say which one. STRING is "double" or 'single' quoted with
backslash escapes. ``~`` tests that the left text contains the right one.

A comparison with a missing value is false, except ``!=`` which is true (a
run without a ``team`` tag is a run whose team is not "a"). Numbers compare
as numbers, text as text, a number never equals a text. A bare operand tests
that the value is present and neither false, zero nor empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from expkit.errors import UsageError


class FilterError(UsageError):
    """A malformed expression; ``position`` is the 0-based offset of the error."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.reason = message
        self.text = text
        self.position = position
        caret = " " * position + "^"
        super().__init__(
            f"--filter: {message} at position {position + 1}:\n    {text}\n    {caret}"
        )


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]*`)
  | (?P<op>==|!=|<=|>=|<|>|~|\(|\)|=)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false", "null", "none"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">=", "~"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, keyword, end
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "\"'":
                raise FilterError("unterminated string", text, pos)
            if char == "`":
                raise FilterError("unterminated `quoted name`", text, pos)
            raise FilterError(f"unexpected character {char!r}", text, pos)
        kind = match.lastgroup
        raw = match.group()
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", value, pos))
        elif kind == "string":
            tokens.append(Token("string", _unescape(raw[1:-1]), pos))
        elif kind == "quoted":
            tokens.append(Token("name", raw[1:-1], pos))
        elif kind == "op":
            if raw == "=":
                raise FilterError("'=' is not a comparison; use '=='", text, pos)
            tokens.append(Token("op", raw, pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(
                Token("keyword", low, pos) if low in _KEYWORDS else Token("name", raw, pos)
            )
        pos = match.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# A compiled expression is a function of a lookup (name -> value or None) to bool.
Lookup = Callable[[str], Any]
Node = Callable[[Lookup], Any]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        #: Every NAME the expression reads.
        self.names: list[str] = []

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, token: Token | None = None) -> FilterError:
        return FilterError(message, self.text, (token or self.tok).pos)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty expression")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error(
                f"unexpected {self._describe(self.tok)}; expected 'and', 'or' or the end"
            )
        return node

    def _describe(self, token: Token) -> str:
        if token.kind == "end":
            return "end of expression"
        return (
            repr(self.text[token.pos : token.pos + 20].split()[0])
            if token.kind != "string"
            else "text"
        )

    def _keyword(self, word: str) -> bool:
        if self.tok.kind == "keyword" and self.tok.value == word:
            self.i += 1
            return True
        return False

    def or_(self) -> Node:
        parts = [self.and_()]
        while self._keyword("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else _any(tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self._keyword("and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else _all(tuple(parts))

    def not_(self) -> Node:
        if self._keyword("not"):
            inner = self.not_()
            return lambda get: not inner(get)
        return self.compare()

    def compare(self) -> Node:
        left, left_is_value = self.operand()
        if self.tok.kind == "op" and self.tok.value in _COMPARE:
            op = self.tok.value
            self.i += 1
            right, _ = self.operand(after=op)
            return _comparison(op, left, right)
        if left_is_value:
            return lambda get: _truthy(left(get))
        return left

    def operand(self, after: str | None = None) -> tuple[Node, bool]:
        """(node, whether it yields a value rather than a truth)."""
        tok = self.tok
        if tok.kind == "op" and tok.value == "(":
            self.i += 1
            inner = self.or_()
            if not (self.tok.kind == "op" and self.tok.value == ")"):
                raise self.error(f"expected ')' to close the '(' at position {tok.pos + 1}")
            self.i += 1
            return inner, False
        self.i += 1
        if tok.kind in ("number", "string"):
            value = tok.value
            return (lambda get: value), True
        if tok.kind == "keyword" and tok.value in ("true", "false", "null", "none"):
            value = {"true": True, "false": False}.get(tok.value)
            return (lambda get: value), True
        if tok.kind == "name":
            name = tok.value
            self.names.append(name)
            return (lambda get: get(name)), True
        self.i -= 1
        wanted = f"a value after '{after}'" if after else "a name, number or string"
        raise self.error(f"expected {wanted}, got {self._describe(tok)}")


def _truthy(value: Any) -> bool:
    return value is not None and value is not False and value != 0 and value != ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _all(parts: tuple[Node, ...]) -> Node:
    def test(get: Lookup) -> bool:
        for part in parts:  # a loop, not all(generator): called once per run
            if not part(get):
                return False
        return True

    return test


def _any(parts: tuple[Node, ...]) -> Node:
    def test(get: Lookup) -> bool:
        for part in parts:
            if part(get):
                return True
        return False

    return test


_NUMBER_TYPES = (int, float)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _comparison(op: str, left: Node, right: Node) -> Node:
    """The test for ``left op right``, chosen once per expression, not once per run.

    A missing value (None) is equal to nothing, and ``!=`` to any present value;
    ``==``/``!=`` never find a number equal to a string or a boolean; ``<``... order
    two numbers or two strings, else False; ``~`` is "contains", on the text of the
    left value.
    """
    if op == "~":

        def contains(get: Lookup) -> bool:
            a, b = left(get), right(get)
            if a is None or b is None:
                return False
            return str(b) in (a if isinstance(a, str) else str(a))

        return contains
    if op in ("==", "!="):
        equal = op == "=="

        def equality(get: Lookup) -> bool:
            a, b = left(get), right(get)
            if a is None or b is None:
                return not equal and (a is None) != (b is None)
            same = a == b if _is_number(a) == _is_number(b) else False
            return same if equal else not same

        return equality
    order = _ORDER[op]

    def ordering(get: Lookup) -> bool:
        a, b = left(get), right(get)
        # type(x) in (int, float): JSON's numbers, and never a bool (bool is not int here).
        if type(a) in _NUMBER_TYPES and type(b) in _NUMBER_TYPES:
            return order(a, b)
        if _is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str):
            return order(a, b)
        return False

    return ordering


@dataclass(frozen=True)
class Filter:
    """A compiled ``--filter`` expression: ``matches(lookup)``; ``names`` it reads."""

    text: str
    node: Node
    names: tuple[str, ...]

    def matches(self, lookup: Lookup) -> bool:
        return bool(self.node(lookup))


def compile_filter(text: str) -> Filter:
    """Parse ``text``; raises FilterError (a usage error, exit 2) with the position."""
    parser = _Parser(text)
    node = parser.parse()
    return Filter(text=text, node=node, names=tuple(parser.names))
