from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.passwords import verify_password
from backend.auth.repository import UserRepository
from backend.auth.schemas import Principal, TokenRequest, TokenResponse
from backend.auth.tokens import issue_token
from backend.config import Settings
from backend.drivers.service import DriverService
from backend.lib.errors import Unauthorized


class TokenService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.users = UserRepository(session)

    async def issue(self, request: TokenRequest) -> TokenResponse:
        user = await self.users.by_email(request.email)
        if not verify_password(user.password_hash if user else None, request.password):
            raise Unauthorized("Wrong email or password", code="bad_credentials")
        assert user is not None
        if not user.active:
            raise Unauthorized("This account is deactivated", code="account_inactive")
        principal = Principal(user_id=user.id, role=user.role)  # type: ignore[arg-type]
        if user.role == "driver":
            driver = await DriverService(self.session).for_user(user.id)
            if driver is None or not driver.active:
                raise Unauthorized("This driver is deactivated", code="account_inactive")
            if request.device_id:
                await DriverService(self.session).register_device(driver.id, request.device_id)
            principal = Principal(
                user_id=user.id, role="driver", driver_id=driver.id, device_id=request.device_id
            )
        ttl = self.settings.token_ttl_seconds
        token = issue_token(principal, self.settings.secret_key, ttl)
        return TokenResponse(access_token=token, expires_in=ttl, role=principal.role)
