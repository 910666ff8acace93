"""argon2id password hashing, and the policy a new password must meet."""

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.lib.errors import Invalid

_hasher = PasswordHasher()
# Verifying against this when the user is unknown keeps response times alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10  # also the schemas' `Password` minimum
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, email: str, *, field: str = "password") -> None:
    """Refuse a password that is short, common, or the account's own email (or its name part)."""
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters",
            field=field,
            code="password_too_short",
        )
    if lowered in _common_passwords() or lowered.strip() in _common_passwords():
        raise Invalid(
            "This password is among the most common ones; choose another",
            field=field,
            code="password_too_common",
        )
    if lowered in (email.lower(), email.lower().partition("@")[0]):
        raise Invalid(
            "A password must differ from the email", field=field, code="password_is_email"
        )


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.lower() for line in lines if line and not line.startswith("# "))
