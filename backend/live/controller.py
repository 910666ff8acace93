"""`WS /v1/live` for dispatch and partners; `GET /v1/track/{token}/stream` for recipients."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, WebSocket, get, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect, WebSocketException
from litestar.params import FromPath, HeaderParameter, Parameter
from litestar.response import ServerSentEvent

from backend.auth.guards import requires
from backend.auth.schemas import Principal
from backend.db.replicas import ReadDbSession, read_from_replica
from backend.lib.errors import (
    PROBLEM_JSON,
    DomainError,
    Forbidden,
    Invalid,
    RateLimited,
    ServiceBusy,
    problem_document,
)
from backend.lib.openapi import raises, raw_response
from backend.limits.connections import ConnectionCaps
from backend.limits.limiter import RateLimiter
from backend.limits.middleware import subject_of
from backend.live.hub import LiveRuntime, Subscription
from backend.live.messages import LiveMessage
from backend.live.service import LiveService
from backend.live.stream import ShipmentStream

# Close code telling a WebSocket client to reconnect (it fell behind or the listener was lost).
RECONNECT = 1012
LIVE_TYPES = ("shipment.status", "shipment.eta", "driver.position", "pod", "incident", "offer")


def visible_to(principal: Principal, types: frozenset[str] | None):
    """Staff see everything; a partner only messages about its own shipments; a driver only
    the offers made to them."""

    def accepts(message: LiveMessage) -> bool:
        if types is not None and message.type not in types:
            return False
        if principal.role == "driver":
            return message.type == "offer" and message.driver_id == principal.driver_id
        return principal.is_staff or (
            message.partner_id is not None and message.partner_id == principal.user_id
        )

    return accepts


def parse_types(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    types = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = sorted(types - set(LIVE_TYPES))
    if unknown:
        raise Invalid(f"Unknown message types: {', '.join(unknown)}", field="types")
    return types


def parse_last_event_id(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("Last-Event-ID must be an event id this stream sent", field="Last-Event-ID")
    return int(raw)


class LiveController(Controller):
    tags = ["live"]

    @websocket("/v1/live", guards=[requires("admin", "dispatcher", "partner", "driver")])
    async def live_feed(
        self,
        socket: WebSocket[Principal, Any, Any],
        live_runtime: NamedDependency[LiveRuntime],
        connection_caps: NamedDependency[ConnectionCaps],
        types: Annotated[
            str | None, Parameter(description=f"comma separated: {LIVE_TYPES}")
        ] = None,
    ) -> None:
        """JSON text frames, one message each: status changes, ETA changes, positions (staff),
        after commit. Partners receive only their own shipments' messages; a driver subscribes
        to the work offered to them, with `?types=offer` only. Over the connection caps the
        handshake is answered 429 (this account) or 503 (this process)."""
        wanted = parse_types(types)
        if socket.user.role == "driver" and wanted != frozenset({"offer"}):
            raise Forbidden("A driver's feed carries offers only: subscribe with ?types=offer")
        accepts = visible_to(socket.user, wanted)
        try:
            slot = connection_caps.acquire(subject_of(socket.user))
        except DomainError as exc:
            await _refuse(socket, exc)
            return
        with contextlib.ExitStack() as held:
            held.callback(slot.release)
            subscription = held.enter_context(live_runtime.hub.feed(accepts))
            await socket.accept()  # subscribed first: nothing after the handshake is missed
            pump = asyncio.create_task(_pump(socket, subscription))
            drain = asyncio.create_task(_until_disconnect(socket))
            done, pending = await asyncio.wait({pump, drain}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in (*done, *pending):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task

    @get(
        "/v1/track/{token:str}/stream",
        exclude_from_auth=True,
        opt=raises((RateLimited, "rate_limited", "too_many_connections"), ServiceBusy, Invalid)
        | raw_response(
            "text/event-stream", description="Server-Sent Events, one per change of the shipment"
        ),
    )
    async def shipment_stream(
        self,
        token: FromPath[str],
        read_db_session: ReadDbSession,
        request: Request[Any, Any, Any],
        live_runtime: NamedDependency[LiveRuntime],
        connection_caps: NamedDependency[ConnectionCaps],
        limiter: NamedDependency[RateLimiter],
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", required=False)
        ] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events for one shipment (no login: the tracking token is the key). Each
        event's id is its place in the shipment's stream; reconnecting with `Last-Event-ID`
        replays what was missed from the database, then continues live. 429 past the rate of
        new streams or the open streams allowed per token; 503 when this process is full."""
        after = parse_last_event_id(last_event_id)
        service = LiveService(read_db_session)
        shipment_id = await service.shipment_for_token(token)
        await limiter.enforce("streams", token)
        slot = connection_caps.acquire(f"track:{shipment_id}")
        try:
            stream = ShipmentStream(
                live_runtime.hub,
                request.app.state.sessionmaker,
                shipment_id,
                after,
                slot.release,
                catch_up=read_from_replica(read_db_session),
            )
        except BaseException:
            slot.release()
            raise
        try:
            replay = await service.replay(shipment_id, after)
        except BaseException:
            stream.close()
            raise
        return ServerSentEvent(
            stream.events(replay), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )


async def _refuse(socket: WebSocket, exc: DomainError) -> None:
    """Refuse the handshake with a real HTTP answer (429/503, Retry-After, problem+json) where
    the server offers ASGI's denial response (uvicorn does); else close with 4000 + status."""
    if "websocket.http.response" not in socket.scope.get("extensions", {}):
        raise WebSocketException(detail=exc.detail, code=4000 + exc.status)
    body = msgspec.json.encode(problem_document(exc.status, exc.detail, code=exc.code))
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    await socket.send(
        {"type": "websocket.http.response.start", "status": exc.status, "headers": headers}
    )
    await socket.send({"type": "websocket.http.response.body", "body": body})


async def _pump(socket: WebSocket, subscription: Subscription) -> None:
    while True:
        delivery = await subscription.next()
        if delivery is None:
            await socket.close(code=RECONNECT, reason="resubscribe")
            return
        await socket.send_text(delivery[1].decode())


async def _until_disconnect(socket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data("text")
