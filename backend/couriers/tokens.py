"""Applicant tokens: a bearer token that reaches one courier application and nothing else.

`lma_<application id>.<signature>`: an HMAC of the id under the server's secret key, so checking
one needs no database. The token is shown once, when the application is made; an applicant keeps
it for as long as the application lives (it is how they learn the decision), so it does not
expire. Paths outside `APPLICANT_PATHS` refuse it whatever their guards say.
"""

import base64
import hashlib
import hmac
import re
from uuid import UUID

from backend.auth.schemas import Principal

PREFIX = "lma_"
# What an applicant token may be used on: its own application (the service checks the id) and
# the blob upload that its documents name.
APPLICANT_PATHS = re.compile(r"^/v1/(courier-applications/[^/]+(/.*)?|blobs/[^/]+)$")


def issue_applicant_token(application_id: UUID, secret_key: str) -> str:
    return f"{PREFIX}{application_id.hex}.{_signature(application_id, secret_key)}"


def read_applicant_token(token: str, secret_key: str, path: str) -> Principal | None:
    """The applicant principal (user_id = the application id) of a valid token used on a path
    it may reach, else None."""
    if not token.startswith(PREFIX) or not APPLICANT_PATHS.match(path):
        return None
    raw_id, _, signature = token[len(PREFIX) :].partition(".")
    try:
        application_id = UUID(hex=raw_id)
    except ValueError:
        return None
    if len(raw_id) != 32 or not hmac.compare_digest(
        signature, _signature(application_id, secret_key)
    ):
        return None
    return Principal(user_id=application_id, role="applicant")


def _signature(application_id: UUID, secret_key: str) -> str:
    digest = hmac.new(
        secret_key.encode(), b"courier-applicant:" + application_id.bytes, hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
