"""What the OpenAPI completeness tests read: the operations, and the error codes the code base
raises (found in its source, so a new `code="…"` is checked without being listed anywhere)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.lib import errors
from backend.lib.errors import DomainError

BACKEND = Path(__file__).resolve().parents[2] / "backend"
METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    body: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(schema: dict[str, Any]) -> Iterator[Op]:
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield Op(method, path, item[method])


def documented_codes(schema: dict[str, Any]) -> set[tuple[int, str]]:
    """(status, code) of every problem example of every operation."""
    found = set()
    for op in operations(schema):
        for status, response in op.body["responses"].items():
            found.update((int(status), code) for code in problem_codes(response))
    return found


def problem_codes(response: dict[str, Any]) -> set[str]:
    """The codes a problem response documents: its examples are keyed by code."""
    media = response.get("content", {}).get(errors.PROBLEM_JSON, {})
    return set(media.get("examples", {}))


def error_classes() -> dict[str, type[DomainError]]:
    seen: dict[str, type[DomainError]] = {}
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        seen[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return seen


def raised_codes() -> dict[tuple[int | None, str], list[str]]:
    """(status or None, code) → where, for every `SomeError(…, code="…")` and `problem(…,
    code="…")` call with a literal code in backend/, and every `SomeError(…)` without one (its
    class's code). The status is None where the call names no DomainError class."""
    classes = error_classes()
    found: dict[tuple[int | None, str], list[str]] = {}
    for path in sorted(BACKEND.rglob("*.py")):
        if "openapi" in path.relative_to(BACKEND).parts:
            continue
        for call in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)):
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
            where = f"{path.relative_to(BACKEND.parent)}:{call.lineno}"
            error = classes.get(name or "")
            if error and not any(keyword.arg == "code" for keyword in call.keywords):
                found.setdefault((error.status, error.code), []).append(where)
            for keyword in call.keywords:
                literal = isinstance(keyword.value, ast.Constant) and isinstance(
                    keyword.value.value, str
                )
                if keyword.arg != "code" or not literal:
                    continue
                status = error.status if error else None
                if error is None and name != "problem":
                    continue  # not an error: a hub's code, a close code
                found.setdefault((status, keyword.value.value), []).append(where)
    return found
