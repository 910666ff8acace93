from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import AuthSession, RefreshToken, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email.lower()))

    async def get(self, user_id: UUID) -> User | None:
        return await self.session.get(User, user_id)

    def add(self, user: User) -> None:
        self.session.add(user)


# What the subject check needs of a token, in one index probe per table: is the user there and
# active, is the token's session live and the user's, and which driver holds the token's device.
_SUBJECT = text(
    """
    SELECT u.active,
           (s.revoked_at IS NULL AND s.user_id = u.id) IS TRUE AS session_live,
           (SELECT d.driver_id FROM devices d WHERE d.device_id = :device_id) AS device_driver_id
    FROM users u LEFT JOIN auth_sessions s ON s.id = :session_id
    WHERE u.id = :user_id
    """
)


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, *objects: object) -> None:
        self.session.add_all(objects)

    async def subject(self, user_id: UUID, session_id: UUID, device_id: str | None) -> Row | None:
        result = await self.session.execute(
            _SUBJECT, {"user_id": user_id, "session_id": session_id, "device_id": device_id}
        )
        return result.first()

    async def rotate(self, token_hash: bytes, at: datetime) -> tuple[RefreshToken | None, bool]:
        """Mark the refresh token used; (its row, True) when this call was the one to use it,
        (its row, False) when it had been used before, (None, False) when unknown. The update
        takes the row lock, so of two concurrent uses exactly one wins."""
        won = await self.session.scalar(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=at)
            .returning(RefreshToken.session_id)
        )
        stored = await self.session.get(RefreshToken, token_hash, populate_existing=True)
        return stored, won is not None

    async def get(self, session_id: UUID) -> AuthSession | None:
        return await self.session.get(AuthSession, session_id)

    async def revoke(
        self,
        at: datetime,
        reason: str,
        *,
        session_ids: list[UUID] | None = None,
        user_id: UUID | None = None,
        device_id: str | None = None,
        keep: UUID | None = None,
    ) -> list[UUID]:
        """Revoke the live sessions matching every filter given; returns their users' ids."""
        statement = (
            update(AuthSession)
            .where(AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
            .returning(AuthSession.user_id)
        )
        if session_ids is not None:
            statement = statement.where(AuthSession.id.in_(session_ids))
        if user_id is not None:
            statement = statement.where(AuthSession.user_id == user_id)
        if device_id is not None:
            statement = statement.where(AuthSession.device_id == device_id)
        if keep is not None:
            statement = statement.where(AuthSession.id != keep)
        return list((await self.session.scalars(statement)).all())

    async def prune_refresh_tokens(self, before: datetime) -> int:
        """Drop refresh tokens expired before `before` (their sessions stay, for the record)."""
        result = await self.session.execute(
            text("DELETE FROM refresh_tokens WHERE expires_at < :before"), {"before": before}
        )
        return result.rowcount  # type: ignore[attr-defined]
