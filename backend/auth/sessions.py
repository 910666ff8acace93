"""Sign-in sessions and their rotating refresh tokens; revoking them.

A session is one sign-in. Its refresh tokens form a family: each is exchanged once for the next
(rotation). Presenting one that was already exchanged means two parties hold the family, so the
whole session is revoked (RFC 9700 §4.14.2). Revocations reach this process's subject cache
right after commit (subjects.py).
"""

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import AuthSession, RefreshToken
from backend.auth.repository import SessionRepository
from backend.auth.subjects import forget_after_commit
from backend.auth.tokens import new_refresh_token, refresh_token_hash
from backend.lib.clock import utcnow
from backend.lib.errors import Unauthorized


class RefreshReused(Exception):
    """A rotated refresh token came back; its session is now revoked (commit, then refuse)."""


class SessionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = SessionRepository(session)

    async def start(
        self, user_id: UUID, device_id: str | None, refresh_ttl_seconds: int
    ) -> tuple[AuthSession, str]:
        """A new session and its first refresh token."""
        auth_session = AuthSession(user_id=user_id, device_id=device_id)
        self.repo.add(auth_session)
        await self.session.flush()
        return auth_session, await self._next_token(auth_session.id, refresh_ttl_seconds)

    async def rotate(self, refresh_token: str, refresh_ttl_seconds: int) -> tuple[AuthSession, str]:
        """Exchange a refresh token for the next of its family; raises `RefreshReused` (after
        revoking the session) when it had been exchanged before."""
        now = utcnow()
        stored, won = await self.repo.rotate(refresh_token_hash(refresh_token), now)
        if stored is None:
            raise Unauthorized("Unknown refresh token", code="invalid_refresh_token")
        auth_session = await self.repo.get(stored.session_id)
        assert auth_session is not None  # the foreign key holds it
        if auth_session.revoked_at is not None:
            raise Unauthorized("This session has ended; sign in again", code="token_revoked")
        if not won:
            await self.revoke([auth_session.id], "refresh_token_reused")
            raise RefreshReused
        if stored.expires_at <= now:
            raise Unauthorized("Refresh token expired; sign in again", code="refresh_expired")
        return auth_session, await self._next_token(auth_session.id, refresh_ttl_seconds)

    async def _next_token(self, session_id: UUID, ttl_seconds: int) -> str:
        token, token_hash = new_refresh_token()
        expires_at = utcnow() + timedelta(seconds=ttl_seconds)
        self.repo.add(
            RefreshToken(token_hash=token_hash, session_id=session_id, expires_at=expires_at)
        )
        await self.session.flush()
        return token

    async def revoke(self, session_ids: list[UUID], reason: str) -> None:
        users = await self.repo.revoke(utcnow(), reason, session_ids=session_ids)
        forget_after_commit(self.session, users)

    async def revoke_user(self, user_id: UUID, reason: str, *, keep: UUID | None = None) -> None:
        """Every live session of the user, but `keep` (the caller's own, say)."""
        await self.repo.revoke(utcnow(), reason, user_id=user_id, keep=keep)
        forget_after_commit(self.session, [user_id])

    async def revoke_device(self, user_id: UUID, device_id: str, reason: str) -> None:
        await self.repo.revoke(utcnow(), reason, user_id=user_id, device_id=device_id)
        forget_after_commit(self.session, [user_id])

    async def prune(self, before: datetime) -> int:
        return await self.repo.prune_refresh_tokens(before)
