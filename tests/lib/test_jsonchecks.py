"""The pure checks: where a NUL is, how deep is too deep, and no false alarms."""

import json

import pytest

from backend.lib.jsonchecks import MAX_JSON_DEPTH, nul_field, nul_path, too_deep_field


def _nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        (
            {"shipments": [{"ok": "x"}, {"recipient": {"name": "\x00"}}]},
            "shipments[1].recipient.name",
        ),
        ({"data": {"ke\x00y": 1}}, "data.ke\\u0000y"),
        (["\x00"], "[0]"),
        ("\x00", "body"),
        ({"clean": ["a", 1, None, {"b": "c"}]}, None),
    ],
)
def test_nul_path_names_the_field(value, field) -> None:
    assert nul_path(value) == field


def test_an_escaped_backslash_before_u0000_is_plain_text() -> None:
    value = {"note": "\\u0000"}
    body = json.dumps(value).encode()
    assert b"\\\\u0000" in body
    assert nul_field(body, value) is None


def test_unchecked_top_level_fields_are_left_to_the_caller() -> None:
    value = {"device_id": "d", "events": [{"note": "\x00"}]}
    body = json.dumps(value).encode()
    assert nul_field(body, value, unchecked=("events",)) is None
    assert nul_field(body, value) == "events[0].note"


def test_depth_at_the_limit_passes_and_one_more_is_named() -> None:
    fine = _nested(MAX_JSON_DEPTH)
    assert too_deep_field(json.dumps(fine).encode(), fine) is None
    deep = {"data": _nested(MAX_JSON_DEPTH)}
    field = too_deep_field(json.dumps(deep).encode(), deep)
    assert field is not None and field.startswith("data")


def test_many_shallow_containers_are_not_deep() -> None:
    wide = {"rows": [{"a": [1, 2], "b": {"c": 3}} for _ in range(500)]}
    assert too_deep_field(json.dumps(wide).encode(), wide) is None
