"""The --filter language (expkit.history.filter): a table of expressions and what they match,
and of malformed ones with the position of the error."""

from __future__ import annotations

import pytest
from expkit.history.filter import FilterError, compile_filter

RUN = {
    "accuracy": 0.93,
    "lr": 0.1,
    "epochs": 5,
    "status": "completed",
    "name": "resnet-big",
    "tag.team": "a",
    "optimizer": "sgd",
    "my metric": 2,
    "flag": True,
    "zero": 0,
}


def lookup(name: str):
    return RUN.get(name)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("accuracy > 0.9", True),
        ("accuracy > 0.95", False),
        ("accuracy >= 0.93 and lr <= 0.1", True),
        ('accuracy > 0.9 and lr < 0.5 and tag.team == "a"', True),
        ("tag.team == 'b'", False),
        ('tag.team != "b"', True),
        ('tag.missing != "b"', True),  # a run without the tag is not on team b
        ('tag.missing == "b"', False),
        ("missing > 1", False),
        ("missing < 1", False),
        ("not missing", True),
        ("epochs == 5", True),
        ("epochs == 5.0", True),
        ('epochs == "5"', False),  # a number never equals a text
        ('epochs < "9"', False),
        ('status == "completed" or lr > 1', True),
        ("lr > 1 or (accuracy > 0.9 and epochs > 3)", True),
        ("not (lr > 1)", True),
        ("NOT lr > 1 AND accuracy > 0.9", True),
        ('name ~ "resnet"', True),
        ('name ~ "vgg"', False),
        ('optimizer < "z"', True),
        ("`my metric` == 2", True),
        ("flag", True),
        ("zero", False),
        ("flag == true", True),
        ("missing == null", False),
        ("lr < 1e-1", False),
        ("lr <= 1e-1", True),
        ("-1 < lr", True),
        ("  accuracy>0.9  ", True),
    ],
)
def test_expressions(expression: str, expected: bool) -> None:
    assert compile_filter(expression).matches(lookup) is expected


@pytest.mark.parametrize(
    ("expression", "position", "message"),
    [
        ("", 1, "empty expression"),
        ("accuracy >", 11, "expected a value after '>'"),
        ("accuracy > 0.9 and", 19, "expected a name, number or string"),
        ("accuracy = 0.9", 10, "'=' is not a comparison; use '=='"),
        ("(accuracy > 0.9", 16, "expected ')' to close the '(' at position 1"),
        ("accuracy > 0.9)", 15, "unexpected"),
        ('tag.team == "a', 13, "unterminated string"),
        ("accuracy > 0.9 ; rm -rf /", 16, "unexpected character ';'"),
        ("__import__('os')", 11, "unexpected"),
        ("accuracy 0.9", 10, "unexpected"),
        ("`open", 1, "unterminated `quoted name`"),
        ("lr < < 1", 6, "expected a value after '<'"),
    ],
)
def test_malformed_expressions_name_the_position(
    expression: str, position: int, message: str
) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(expression)
    error = caught.value
    assert error.position + 1 == position, str(error)
    assert message in str(error) and f"at position {position}" in str(error)
    assert error.exit_code == 2
    caret_line = str(error).splitlines()[-1]
    assert caret_line.index("^") - 4 == position - 1  # the caret under the error


def test_names_are_collected_and_nothing_is_evaluated() -> None:
    compiled = compile_filter("a > 1 and (b.c == 'x' or not `d e`)")
    assert compiled.names == ("a", "b.c", "d e")
    seen = []
    compile_filter("x > 1").matches(lambda n: seen.append(n))
    assert seen == ["x"]


def _reference(op, a, b):
    """The comparison rules, written plainly (the filter chooses a test per operator)."""

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if a is None or b is None:
        return op == "!=" and (a is None) != (b is None)
    if op == "~":
        return str(b) in (a if isinstance(a, str) else str(a))
    if op in ("==", "!="):
        same = a == b if number(a) == number(b) else False
        return same if op == "==" else not same
    if number(a) and number(b) or isinstance(a, str) and isinstance(b, str):
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    return False


def test_every_operator_follows_the_rules_on_awkward_values() -> None:
    import itertools

    from expkit.history.filter import _comparison

    values = [None, 0, 1, -1.5, 0.0, 1.0, True, False, "", "a", "b", "1", [1], {"x": 1}]
    values.append(float("nan"))
    for op in ("==", "!=", "<", "<=", ">", ">=", "~"):
        for a, b in itertools.product(values, values):
            test = _comparison(op, lambda get, a=a: a, lambda get, b=b: b)
            assert test(None) == _reference(op, a, b), (op, a, b)
