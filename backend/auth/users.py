from uuid import UUID

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

    async def create(self, email: str, password: str, role: Role) -> User:
        check_new_password(password, email)
        if await self.users.by_email(email):
            raise Conflict(f"A user with email {email} already exists", code="email_taken")
        user = User(email=email.lower(), password_hash=hash_password(password), role=role)
        self.users.add(user)
        await self.session.flush()
        return user

    async def ensure_admin(self, email: str, password: str) -> bool:
        """Create the admin unless a user with that email exists; True when created."""
        if await self.users.by_email(email):
            return False
        await self.create(email, password, "admin")
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
