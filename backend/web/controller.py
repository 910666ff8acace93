"""`/t/{token}`: the recipient's tracking page. No sign-in: the token is the key.

The page works without JavaScript: options are plain HTML forms posting back to the same
address, answered with a redirect (303) so a reload never posts twice.
"""

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from backend.config import Settings
from backend.db.replicas import ReadDbSession, ReplicaRouter
from backend.db.session import DbSession
from backend.lib.errors import DomainError, NotFound
from backend.limits.limiter import RateLimiter
from backend.recipients.schemas import Instruction
from backend.recipients.service import RecipientService
from backend.web.page import render
from backend.web.repository import PageRepository
from backend.web.times import Clock, zone_of

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
NOTICE = {"1": "Thank you: we have your request and passed it to the driver."}


class TrackingPageController(Controller):
    path = "/t"
    tags = ["recipients"]
    include_in_schema = False
    opt = {"exclude_from_auth": True}

    @get("/{token:str}", media_type="text/html")
    async def page(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        read_db_session: ReadDbSession,
        settings: NamedDependency[Settings],
    ) -> Response[str]:
        notice = NOTICE.get(request.query_params.get("done", ""))
        service = RecipientService(read_db_session, settings)
        return await _page(service, PageRepository(read_db_session), token, notice=notice)

    @post("/{token:str}", media_type="text/html")
    async def instruct(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
        replicas: NamedDependency[ReplicaRouter],
    ) -> Response[str] | Redirect:
        """The body is small (`LASTMILE_ANONYMOUS_MAX_BODY_BYTES`): a form flooded with fields is
        refused with 413 before it is parsed."""
        service = RecipientService(db_session, settings)
        places = PageRepository(db_session)
        try:
            await limiter.enforce("instructions", token)
        except DomainError as exc:
            return await _page(service, places, token, error=exc.detail, status=exc.status, exc=exc)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and v}
        try:
            instruction = msgspec.convert(form, Instruction, strict=False)
        except msgspec.ValidationError:
            return await _page(service, places, token, error="Please fill in the form.", status=422)
        try:
            await service.instruct(token, instruction)
        except DomainError as exc:  # an unknown token renders the page's own 404
            return await _page(service, places, token, error=exc.detail, status=exc.status)
        # The page it redirects to must show the instruction: read from the primary for a while.
        cookie = replicas.remember_write(token)
        return Redirect(f"/t/{token}?done=1", status_code=303, cookies=[cookie])


async def _page(
    service: RecipientService,
    places: PageRepository,
    token: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    exc: DomainError | None = None,
) -> Response[str]:
    try:
        view = await service.view(token)
    except NotFound:
        return Response(_NOT_FOUND, status_code=404, media_type="text/html", headers=HEADERS)
    points = (await service.pickup_points(token)).items
    place = await places.place(token)
    clock = Clock(zone_of(place["time_zone"] if place else None))
    home = (place["lon"], place["lat"]) if place else None
    html = render(view, token, points, clock=clock, home=home, notice=notice, error=error)
    headers = HEADERS | ((exc.headers or {}) if exc else {})
    return Response(html, status_code=status, media_type="text/html", headers=headers)


_NOT_FOUND = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    "<title>Not found</title></head><body><main><h1>We cannot find this parcel</h1>"
    "<p>Check the link in your message.</p></main></body></html>"
)
