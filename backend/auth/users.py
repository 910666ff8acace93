from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.passwords import check_new_password, hash_password
from backend.auth.repository import UserRepository
from backend.auth.schemas import Role
from backend.auth.sessions import SessionService
from backend.auth.subjects import forget_after_commit
from backend.lib.errors import Conflict


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)

    async def create(
        self, email: str, password: str, role: Role, *, password_hash: str | None = None
    ) -> User:
        """`password_hash`, when given, is an argon2 hash made earlier (a courier's, from
        their application) and is stored instead of hashing `password`."""
        if password_hash is None:
            check_new_password(password, email)
        if await self.users.by_email(email):
            raise Conflict(f"A user with email {email} already exists", code="email_taken")
        user = User(
            email=email.lower(), password_hash=password_hash or hash_password(password), role=role
        )
        self.users.add(user)
        await self.session.flush()
        return user

    async def ensure_admin(self, email: str, password: str) -> bool:
        """Create the admin unless a user with that email exists; True when created.

        Several API processes start at once and each ensures the admin: the one that loses the
        race meets the unique email (or the row) and has nothing to do."""
        if await self.users.by_email(email):
            return False
        try:
            async with self.session.begin_nested():
                await self.create(email, password, "admin")
        except (Conflict, IntegrityError):
            return False
        return True

    async def set_active(self, user_id: UUID, active: bool) -> None:
        """Deactivating ends every session of the account at once; either way this process's
        cached verdicts of the account are dropped after commit."""
        user = await self.users.get(user_id)
        if user:
            user.active = active
            if not active:
                await SessionService(self.session).revoke_user(user_id, "deactivated")
            forget_after_commit(self.session, [user_id])
