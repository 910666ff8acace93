"""The OpenAPI document Litestar builds, finished: operation texts, security, every error status
with its codes, raw bodies, and component names without module paths.

Litestar's OpenAPIPlugin builds the document once, on first use. `LastmileOpenAPIPlugin` runs the
same build, then finishes each operation with its handler in hand (declarations from
backend/lib/openapi/declare.py, guards, parameters) before the components are named.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterator
from inspect import cleandoc
from typing import Any

from litestar import Litestar
from litestar._openapi.datastructures import OpenAPIContext, SchemaRegistry
from litestar._openapi.path_item import create_path_item_for_route, merge_path_item_operations
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation import SchemaCreator
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    Discriminator,
    Example,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from backend.lib.errors import PROBLEM_JSON
from backend.lib.openapi import problems
from backend.lib.openapi.declare import EXAMPLES, RAISES, RAW_BODY, RAW_RESPONSE
from backend.lib.openapi.security import callers, security_requirements

PROBLEM_REF = "#/components/schemas/ProblemDetails"
EXAMPLES_REF = "#/components/examples/"
_SUMMARY_LIMIT = 100


class LastmileOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        config = self.openapi_config
        openapi = config.to_openapi_schema()
        context = OpenAPIContext(openapi_config=config, plugins=self.app.plugins.openapi)
        creator = SchemaCreator.from_openapi_context(context, prefer_alias=True)
        creator.for_field_definition(FieldDefinition.from_annotation(problems.ProblemDetails))
        path_items: dict[str, PathItem] = {}
        for route in self.included_routes.values():
            path = route.path_format or "/"
            path_item = create_path_item_for_route(context, route)
            _finish_route(route, path_item, creator)
            if existing := path_items.get(path):
                path_item = merge_path_item_operations(existing, path_item, for_path=path)
            path_items[path] = path_item
        openapi.paths = path_items
        openapi.components = openapi.components or Components()
        schemas = component_schemas(context.schema_registry)
        openapi.components.schemas = used_schemas(openapi, schemas)
        openapi.components.examples = problem_examples(openapi)
        add_discriminators(openapi.components.schemas)
        return openapi


def install(app: Litestar) -> Litestar:
    """Make `app` build its OpenAPI with LastmileOpenAPIPlugin. Litestar registers its own
    plugin instance unconditionally and looks it up by exact type, so the instance is kept and
    given the subclass (same slots, no state of its own)."""
    app.plugins.get(OpenAPIPlugin).__class__ = LastmileOpenAPIPlugin
    return app


def _finish_route(route: HTTPRoute, path_item: PathItem, creator: SchemaCreator) -> None:
    for method, (handler, _) in route.route_handler_map.items():
        operation = getattr(path_item, method.lower(), None)
        if isinstance(operation, Operation):
            finish_operation(operation, handler, route, creator)


def finish_operation(
    operation: Operation, handler: HTTPRouteHandler, route: HTTPRoute, creator: SchemaCreator
) -> None:
    summary, description = docstring_texts(handler)
    operation.summary = summary or operation.summary
    who = callers(handler)
    operation.description = "\n\n".join(part for part in (description, who) if part) or None
    operation.security = security_requirements(handler)
    if raw := handler.opt.get(RAW_BODY):
        operation.request_body = _raw_request_body(raw, creator)
    if raw := handler.opt.get(RAW_RESPONSE):
        _set_raw_response(operation, raw, creator)
    if declared := handler.opt.get(EXAMPLES):
        _set_examples(operation, declared)
    _drop_generic_errors(operation)
    for status, codes in error_codes(operation, handler, route).items():
        operation.responses[str(status)] = _problem_response(status, codes)


def docstring_texts(handler: HTTPRouteHandler) -> tuple[str, str]:
    """(summary, description) from the handler's docstring: its first sentence, and the whole
    text."""
    doc = cleandoc(handler.fn.__doc__ or handler.description or "")
    if not doc:
        return "", ""
    first_paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    summary = _first_sentence(first_paragraph).rstrip(".:;")
    if len(summary) > _SUMMARY_LIMIT:
        summary = summary[: _SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return summary, doc


def _first_sentence(text: str) -> str:
    """Up to the first `.`, `;`, `:`, `!` or `?` that ends a sentence: followed by a space or the
    end, and outside backticks and parentheses (`{type: reschedule}` is not a sentence end)."""
    depth, quoted = 0, False
    for n, char in enumerate(text):
        if char == "`":
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char in ".;:!?" and text[n + 1 : n + 2] in ("", " "):
            return text[: n + 1]
    return text


def error_codes(
    operation: Operation, handler: HTTPRouteHandler, route: HTTPRoute
) -> dict[int, list[str]]:
    """Every (status, code) the operation can answer: derived from what it is made of, plus
    what the handler declares."""
    pairs: set[tuple[int, str]] = set(problems.ALWAYS)
    if not handler.opt.get("exclude_from_auth"):
        pairs.update(problems.AUTHENTICATION)
        pairs.update(problems.RATE_LIMIT)
    guards = handler.resolve_guards()
    if any(getattr(guard, "roles", None) for guard in guards):
        pairs.update(problems.ROLE_GUARD)
    if any(getattr(guard, "scope", None) for guard in guards):
        pairs.update(problems.SCOPE_GUARD)
    if route.path_parameters:
        pairs.update(problems.PATH_OBJECT)
    query = {p.name for p in operation.parameters or () if getattr(p, "param_in", None) == "query"}
    if query:
        pairs.update(problems.QUERY)
    if "cursor" in query:
        pairs.update(problems.CURSOR)
    if operation.request_body is not None:
        raw = handler.opt.get(RAW_BODY)
        if raw is None:
            pairs.update(problems.JSON_BODY)
        else:
            pairs.update(problems.BINARY_BODY if raw["schema"] is None else problems.RAW_JSON_BODY)
    pairs.update(handler.opt.get(RAISES, ()))
    by_status: dict[int, list[str]] = defaultdict(list)
    for status, code in sorted(pairs):
        by_status[status].append(code)
    return dict(sorted(by_status.items()))


def _problem_response(status: int, codes: list[str]) -> OpenAPIResponse:
    """Keyed by code; each example is written once, in components/examples (`422-invalid`)."""
    examples = {code: Reference(ref=f"{EXAMPLES_REF}{status}-{code}") for code in codes}
    return OpenAPIResponse(
        description=problems.describe_status(status, codes),
        content={
            PROBLEM_JSON: OpenAPIMediaType(
                schema=Reference(ref=PROBLEM_REF),
                examples=examples,  # type: ignore[arg-type]
            )
        },
    )


def _set_examples(operation: Operation, declared: dict[str, Any]) -> None:
    if declared["request"] is not None and isinstance(operation.request_body, RequestBody):
        for media in operation.request_body.content.values():
            media.example = declared["request"]
    if declared["response"] is not None:
        for status, response in (operation.responses or {}).items():
            if status.startswith("2") and isinstance(response, OpenAPIResponse):
                for media in (response.content or {}).values():
                    media.example = declared["response"]


def _drop_generic_errors(operation: Operation) -> None:
    """Litestar's own 400 (`{status_code, detail, extra}`) is not what this API answers."""
    for status in list(operation.responses or {}):
        if status.startswith(("4", "5")):
            del operation.responses[status]


def _raw_request_body(raw: dict[str, Any], creator: SchemaCreator) -> RequestBody:
    if raw["schema"] is not None:
        schema = creator.for_field_definition(FieldDefinition.from_annotation(raw["schema"]))
        content = {"application/json": OpenAPIMediaType(schema=schema, example=raw["example"])}
    else:
        binary = Schema(type="string", format="binary")  # type: ignore[arg-type]
        content = {media_type: OpenAPIMediaType(schema=binary) for media_type in raw["media_types"]}
    return RequestBody(content=content, description=raw["description"] or None, required=True)


def _set_raw_response(operation: Operation, raw: dict[str, Any], creator: SchemaCreator) -> None:
    if raw["schema"] is not None:
        schema = creator.for_field_definition(FieldDefinition.from_annotation(raw["schema"]))
        content = {media_type: OpenAPIMediaType(schema=schema) for media_type in raw["media_types"]}
    else:
        content = {
            media_type: OpenAPIMediaType(schema=_opaque(media_type))
            for media_type in raw["media_types"]
        }
    status = str(raw["status"])
    previous = (operation.responses or {}).get(status)
    description = raw["description"] or getattr(previous, "description", None) or "OK"
    operation.responses = {
        key: value for key, value in (operation.responses or {}).items() if not key.startswith("2")
    }
    operation.responses[status] = OpenAPIResponse(description=description, content=content)


def _opaque(media_type: str) -> Schema:
    """A body of no documented shape: a JSON object, or bytes."""
    if media_type.endswith(("/json", "+json")):
        return Schema(type="object")  # type: ignore[arg-type]
    return Schema(type="string", format="binary")  # type: ignore[arg-type]


# Component names ---------------------------------------------------------------------------------

_MODULE_PATH = re.compile(r"(?:[a-z_][a-z0-9_]*\.)+")


def component_schemas(registry: SchemaRegistry) -> dict[str, Schema]:
    """Litestar names a component by its class name, or by its module path when two classes share
    one (`couriers_schemas_Requirements`), and generics as `Page_backend.x.schemas.XRead_`. Here:
    the class name; generics as `XReadPage`; clashes prefixed by their domain
    (`CourierRequirements`)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for registered in registry:
        groups[_clean_name(registered.key[-1])].append(registered)
    components: dict[str, Schema] = {}
    for name, group in groups.items():
        for registered in group:
            final = name if len(group) == 1 else _domain_prefix(registered.key) + name
            registry.set_reference_paths(final, registered)
            registered.schema.title = final  # generated clients name their classes by it
            components[final] = registered.schema
    return dict(sorted(components.items()))


def _clean_name(name: str) -> str:
    generic = re.fullmatch(r"([A-Za-z0-9]+)_(.+)_", name)
    if generic:
        outer, inner = generic.groups()
        return "".join(_clean_name(part) for part in inner.split("_") if part) + outer
    return _MODULE_PATH.sub("", name)


def _domain_prefix(key: tuple[str, ...]) -> str:
    domain = key[1] if len(key) > 2 and key[0] == "backend" else key[0]
    words = domain.split("_")
    singular = [
        word[:-1] if word.endswith("s") and not word.endswith("ss") else word for word in words
    ]
    return "".join(word.title() for word in singular)


def problem_examples(openapi: OpenAPI) -> dict[str, Example | Reference]:
    """One example problem document per (status, code) the operations name."""
    names = set()
    for item in (openapi.paths or {}).values():
        for operation in (
            getattr(item, method) for method in ("get", "put", "post", "patch", "delete")
        ):
            for response in (operation.responses or {}).values() if operation else ():
                media = (getattr(response, "content", None) or {}).get(PROBLEM_JSON)
                for ref in (media.examples or {}).values() if media else ():
                    names.add(ref.ref.removeprefix(EXAMPLES_REF))  # type: ignore[union-attr]
    examples: dict[str, Example | Reference] = {}
    for name in sorted(names, key=lambda n: (int(n.split("-", 1)[0]), n)):
        status, code = name.split("-", 1)
        examples[name] = Example(summary=code, value=problems.example_problem(int(status), code))
    return examples


def used_schemas(openapi: OpenAPI, schemas: dict[str, Schema]) -> dict[str, Schema]:
    """Only the components some operation reaches: a handler whose documented body or response
    was replaced (raw_body, raw_response) leaves Litestar's first guess registered."""
    pending = _references(list((openapi.paths or {}).values()))
    used: set[str] = set()
    while pending:
        name = pending.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        pending |= _references(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in used}


def _references(node: Any) -> set[str]:
    """The component names `$ref`d anywhere under `node` (spec objects, lists, dicts)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Reference):
            found.add(item.ref.rsplit("/", 1)[-1])
        elif isinstance(item, Example):
            continue  # plain values, never references
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif dataclasses.is_dataclass(item):
            stack.extend(getattr(item, field.name) for field in dataclasses.fields(item))
    return found


def add_discriminators(schemas: dict[str, Schema]) -> None:
    """A `oneOf` of components that each fix the same property to a constant (msgspec's tagged
    unions: `entity: "route"`) gets that property as its discriminator, so generated clients
    pick the right type."""
    for schema in schemas.values():
        for union in _one_ofs(schema):
            names = [
                item.ref.rsplit("/", 1)[-1]
                for item in union.one_of or ()
                if isinstance(item, Reference)
            ]
            if len(names) < 2 or len(names) != len(union.one_of or ()):
                continue
            tags = [_constant_properties(schemas.get(name)) for name in names]
            shared = set.intersection(*(set(tag) for tag in tags))
            if len(shared) == 1:
                field = shared.pop()
                union.discriminator = Discriminator(
                    property_name=field,
                    mapping={
                        tag[field]: f"#/components/schemas/{name}"
                        for tag, name in zip(tags, names, strict=True)
                    },
                )


def _one_ofs(schema: Schema | Reference | None) -> Iterator[Schema]:
    if not isinstance(schema, Schema):
        return
    if schema.one_of:
        yield schema
        for item in schema.one_of:
            yield from _one_ofs(item)  # type: ignore[arg-type]
    for child in (schema.properties or {}).values():
        yield from _one_ofs(child)  # type: ignore[arg-type]
    if isinstance(schema.items, Schema):
        yield from _one_ofs(schema.items)


def _constant_properties(schema: Schema | None) -> dict[str, str]:
    if schema is None:
        return {}
    return {
        name: prop.const
        for name, prop in (schema.properties or {}).items()
        if isinstance(prop, Schema) and isinstance(prop.const, str)
    }
