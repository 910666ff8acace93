"""A driver's token is bound to one handheld: what that handheld sends must name the same one."""

from uuid import UUID

from backend.auth.schemas import Principal
from backend.lib.errors import Forbidden, Invalid


def driver_on_device(principal: Principal, device_id: str, sending: str) -> UUID:
    """The driver speaking through `device_id`; `sending` names what is sent, for the message."""
    if principal.driver_id is None:
        raise Forbidden(f"Only drivers send {sending}")
    if principal.device_id is None:
        raise Forbidden(f"Sign in with a device_id to send {sending}", code="token_without_device")
    if principal.device_id != device_id:
        raise Invalid(
            "device_id differs from the device this token is bound to",
            field="device_id",
            code="device_mismatch",
        )
    return principal.driver_id
