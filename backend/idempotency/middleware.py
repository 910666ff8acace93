"""`Idempotency-Key` on POSTs, with Stripe's semantics, for every caller (keys and tokens).

Same key and same request (method, path, query, body) → the stored response, status and body,
with `Idempotent-Replayed: true`; same key, another request → 422 `idempotency_key_reused`;
while the first is still running → 409 `request_in_progress`. Keys are scoped per caller (an
organisation, or a user) and kept 24 h. A 5xx is not stored: the key may be retried. A key
whose request died with its process is taken over once its lease (`LEASE`) has passed.

The stored response is written after the handler's own transaction committed, in a second
one; a process killed between the two leaves the key running until its lease passes, and the
retry then runs again (the shipment's unique reference still catches a duplicate create).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.schemas import Principal
from backend.db.session import unit_of_work
from backend.idempotency.repository import IdempotencyRepository
from backend.lib.clock import utcnow
from backend.lib.errors import PROBLEM_JSON, problem

HEADER = b"idempotency-key"
REPLAYED = "idempotent-replayed"
LEASE = timedelta(minutes=2)
KEEP = timedelta(hours=24)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_key = _header(scope, HEADER)
        principal = scope.get("user")
        if scope["method"] != "POST" or raw_key is None or not isinstance(principal, Principal):
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _VALID_KEY.match(key):
            await _problem(
                scope,
                send,
                422,
                "Idempotency-Key must be 1-255 printable ASCII characters",
                "invalid",
                field="Idempotency-Key",
            )
            return
        limit = scope["app"].state.settings.max_body_bytes
        body, replay_receive = await _buffer(receive, limit)
        if body is None:
            await _problem(scope, send, 413, f"At most {limit} bytes", "payload_too_large")
            return
        digest = hashlib.sha256(
            b"%s %s?%s\n"
            % (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""))
            + body
        ).digest()
        caller = _caller(principal)
        sessionmaker = scope["app"].state.sessionmaker
        now = utcnow()
        async with unit_of_work(sessionmaker) as session:
            repo = IdempotencyRepository(session)
            stored = await repo.claim(caller, key, digest, now, LEASE, KEEP)
            if stored is not None:
                if stored["request_hash"] != digest:
                    return await _problem(
                        scope,
                        send,
                        422,
                        "This Idempotency-Key was used with a different request",
                        "idempotency_key_reused",
                        field="Idempotency-Key",
                    )
                if stored["status_code"] is not None:
                    return await _replay(send, stored)
                if stored["locked_until"] > now:
                    return await _problem(
                        scope,
                        send,
                        409,
                        "A request with this Idempotency-Key is still in progress",
                        "request_in_progress",
                    )
                await repo.take_over(caller, key, now + LEASE)
        await self._run(scope, replay_receive, send, sessionmaker, caller, key)

    async def _run(self, scope, receive, send, sessionmaker, caller: str, key: str) -> None:
        captured: dict[str, Any] = {"status": 500, "content_type": None, "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await _settle(sessionmaker, caller, key, None)
            raise
        await _settle(sessionmaker, caller, key, captured)


async def _settle(sessionmaker, caller: str, key: str, captured: dict[str, Any] | None) -> None:
    """Store the response, or free the key after a server error so a retry runs again."""
    async with unit_of_work(sessionmaker) as session:
        repo = IdempotencyRepository(session)
        if captured is None or captured["status"] >= 500:
            await repo.release(caller, key)
        else:
            await repo.complete(
                caller, key, captured["status"], captured["content_type"], bytes(captured["body"])
            )


def _caller(principal: Principal) -> str:
    if principal.organization_id:
        return f"org:{principal.organization_id}"
    return f"user:{principal.user_id}"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for header, value in scope.get("headers", []):
        if header.lower() == name:
            return value
    return None


async def _buffer(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole request body (None past `limit` bytes), and a `receive` that hands it to the
    app again."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None, receive
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _replay(send: Send, stored: Any) -> None:
    headers = [(REPLAYED.encode(), b"true")]
    if stored["content_type"]:
        headers.append((b"content-type", stored["content_type"].encode("latin-1")))
    body = bytes(stored["response_body"] or b"")
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored["status_code"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(
    scope: Scope, send: Send, status: int, detail: str, code: str, field: str | None = None
) -> None:
    errors = [{"field": field, "message": detail}] if field else None
    body = msgspec.json.encode(problem(status, detail, code=code, errors=errors).content)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
