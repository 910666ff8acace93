"""Who may call an operation, read from its guards: the security requirement and a sentence."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

from backend.auth.schemas import ORGANIZATION_ROLES

USER_TOKEN = "userToken"
API_KEY = "apiKey"

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    USER_TOKEN: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description=(
            "A signed token from `POST /v1/auth/token` (staff, drivers; a driver's token names "
            "its device) or a courier applicant's token from `POST /v1/courier-applications`. "
            "Short-lived: renew it with `POST /v1/auth/refresh`."
        ),
    ),
    API_KEY: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="lmk_<prefix>_<secret>",
        description=(
            "An organisation's API key (shippers, partner carriers), shown once when created "
            "and sent as a bearer token. Each key carries scopes, e.g. `shipments:write`."
        ),
    ),
}


def roles_of(handler: HTTPRouteHandler) -> frozenset[str] | None:
    """The roles the handler's guards admit, or None when no guard checks a role."""
    allowed: frozenset[str] | None = None
    for guard in handler.resolve_guards():
        roles = getattr(guard, "roles", None)
        if roles is not None:
            allowed = roles if allowed is None else allowed & roles
    return allowed


def scopes_of(handler: HTTPRouteHandler) -> list[str]:
    return [scope for guard in handler.resolve_guards() if (scope := getattr(guard, "scope", None))]


def is_public(handler: HTTPRouteHandler) -> bool:
    return bool(handler.opt.get("exclude_from_auth"))


def security_requirements(handler: HTTPRouteHandler) -> list[SecurityRequirement]:
    """`[]` (explicitly none) for public operations; the user token, and API keys where an
    organisation's role may call."""
    if is_public(handler):
        return []
    roles = roles_of(handler)
    requirements: list[SecurityRequirement] = [{USER_TOKEN: []}]
    if roles is None or roles & set(ORGANIZATION_ROLES):
        requirements.append({API_KEY: []})
    return requirements


def callers(handler: HTTPRouteHandler) -> str:
    """One sentence for the description: who may call."""
    if is_public(handler):
        return "**Access:** public, no credentials."
    roles = roles_of(handler)
    who = "any signed-in caller" if roles is None else "roles " + ", ".join(sorted(roles))
    scopes = scopes_of(handler)
    keys = f"; API keys need the scope {', '.join(f'`{s}`' for s in scopes)}" if scopes else ""
    return f"**Access:** {who}{keys}."
