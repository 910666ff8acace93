"""Pure checks on decoded JSON: where a NUL is, whether it nests too deeply.

PostgreSQL text and jsonb cannot hold U+0000, and nesting near the interpreter's recursion limit
fails later (storing jsonb, encoding the answer), so both are refused at the edge with the path
of the culprit (`shipments[2].recipient.name`). `backend.lib.inputs` applies them to requests.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

MAX_JSON_DEPTH = 32
NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"


def nul_field(body: bytes, value: Any, unchecked: Collection[str] = ()) -> str | None:
    """Where a NUL of a decoded JSON body is (one of them), or None; top-level keys in
    `unchecked` are left to the caller. JSON carries NUL only escaped, so bodies without the
    escape (nearly all) cost one byte search."""
    if _ESCAPED_NUL not in body:
        return None
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if isinstance(value, dict):
        value = {key: item for key, item in value.items() if key not in unchecked}
    return nul_path(value)


def nul_path(value: Any) -> str | None:
    """Iterative: the depth of what is searched is not bounded yet."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if NUL in node:
                return path or "body"
        elif isinstance(node, dict):
            for key, item in node.items():
                child = f"{path}.{key}" if path else str(key)
                if NUL in key:
                    return printable(child)
                stack.append((child, item))
        elif isinstance(node, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(node))
    return None


def too_deep_field(body: bytes, value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The path to the first container past `limit` levels, or None. Each level opens a bracket,
    so a body with fewer brackets than the limit needs no walk."""
    if body.count(b"[") + body.count(b"{") <= limit or not _deeper_than(value, limit):
        return None
    return _deep_path(value, limit)


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        items = node.values() if isinstance(node, dict) else node
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


def _deep_path(value: Any, limit: int, path: str = "") -> str:
    """Bounded recursion: at most `limit` frames."""
    if limit == 0 or not isinstance(value, dict | list):
        return path or "body"
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict | list) and _deeper_than(item, limit - 1):
            child = f"{path}.{key}".removeprefix(".") if isinstance(key, str) else f"{path}[{key}]"
            return _deep_path(item, limit - 1, child)
    return path or "body"


def printable(field: str) -> str:
    """A field name fit for an error message: its NULs shown escaped."""
    return field.replace(NUL, "\\u0000")
