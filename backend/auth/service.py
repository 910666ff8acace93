from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import AuthSession, User
from backend.auth.passwords import check_new_password, hash_password, verify_password
from backend.auth.repository import UserRepository
from backend.auth.schemas import PasswordChange, Principal, TokenRequest, TokenResponse, UserRead
from backend.auth.sessions import SessionService
from backend.auth.tokens import issue_token
from backend.auth.users import UserService
from backend.config import Settings
from backend.drivers.service import DriverService
from backend.lib.errors import Conflict, Invalid, NotFound, Unauthorized


class TokenService:
    """Sign-in, refresh, logout and password change: what makes and ends sessions."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.users = UserRepository(session)
        self.sessions = SessionService(session)
        self.drivers = DriverService(session)

    async def issue(self, request: TokenRequest) -> TokenResponse:
        user = await self.users.by_email(request.email)
        if not verify_password(user.password_hash if user else None, request.password):
            raise Unauthorized("Wrong email or password", code="bad_credentials")
        assert user is not None
        principal = await self._principal(user, request.device_id, binding=True)
        auth_session, refresh_token = await self.sessions.start(
            user.id, principal.device_id, self.settings.refresh_token_ttl_seconds
        )
        return self._tokens(principal, auth_session, refresh_token)

    async def refresh(self, refresh_token: str) -> TokenResponse:
        """The next access and refresh tokens; the one presented stops working. Raises
        `RefreshReused` when it had been used already (its session is then revoked)."""
        auth_session, next_token = await self.sessions.rotate(
            refresh_token, self.settings.refresh_token_ttl_seconds
        )
        user = await self.users.get(auth_session.user_id)
        assert user is not None  # sessions go with their user
        principal = await self._principal(user, auth_session.device_id, binding=False)
        return self._tokens(principal, auth_session, next_token)

    async def logout(self, principal: Principal) -> None:
        assert principal.session_id is not None
        await self.sessions.revoke([principal.session_id], "logout")

    async def change_password(self, principal: Principal, change: PasswordChange) -> None:
        """Set a new password and end every other session of the account."""
        user = await self.users.get(principal.user_id)
        assert user is not None  # the subject check found it
        if not verify_password(user.password_hash, change.current_password):
            raise Invalid(
                "The current password is wrong", field="current_password", code="wrong_password"
            )
        check_new_password(change.new_password, user.email, field="new_password")
        if change.new_password == change.current_password:
            raise Invalid(
                "The new password must differ from the current one",
                field="new_password",
                code="password_unchanged",
            )
        user.password_hash = hash_password(change.new_password)
        await self.sessions.revoke_user(user.id, "password_changed", keep=principal.session_id)
        await self.session.flush()

    async def _principal(self, user: User, device_id: str | None, *, binding: bool) -> Principal:
        """Who `user` is for a new access token. At sign-in (`binding`) a new device is bound
        to the driver; on refresh the device must still be theirs."""
        if not user.active:
            raise Unauthorized("This account is deactivated", code="account_inactive")
        if user.role != "driver":
            return Principal(user_id=user.id, role=user.role)  # type: ignore[arg-type]
        driver = await self.drivers.for_user(user.id)
        if driver is None or not driver.active:
            raise Unauthorized("This driver is deactivated", code="account_inactive")
        if device_id and binding:
            await self.drivers.register_device(driver.id, device_id)
        elif device_id:
            await self.drivers.require_device(driver.id, device_id)
        return Principal(user_id=user.id, role="driver", driver_id=driver.id, device_id=device_id)

    def _tokens(
        self, principal: Principal, auth_session: AuthSession, refresh_token: str
    ) -> TokenResponse:
        principal = Principal(
            user_id=principal.user_id,
            role=principal.role,
            driver_id=principal.driver_id,
            device_id=principal.device_id,
            session_id=auth_session.id,
        )
        ttl = self.settings.token_ttl_seconds
        return TokenResponse(
            access_token=issue_token(principal, self.settings.secret_key, ttl),
            expires_in=ttl,
            role=principal.role,
            refresh_token=refresh_token,
            refresh_expires_in=self.settings.refresh_token_ttl_seconds,
        )


class AccountService:
    """An admin's hold on any account: deactivate (its tokens stop at once) and reactivate."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)

    async def set_active(self, user_id: UUID, active: bool, actor: Principal) -> UserRead:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("No such user")
        if user.id == actor.user_id and not active:
            raise Conflict("You cannot deactivate your own account", code="cannot_deactivate_self")
        drivers = DriverService(self.session)
        driver = await drivers.for_user(user.id) if user.role == "driver" else None
        if driver is not None:
            await drivers.set_active(driver.id, active)  # the driver and their account
        else:
            await UserService(self.session).set_active(user.id, active)
        await self.session.flush()
        return UserRead(id=user.id, email=user.email, role=user.role, active=user.active)  # type: ignore[arg-type]
