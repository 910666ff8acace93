"""The password policy: a minimum length and no common password, wherever a password is set."""

import pytest

from backend.auth.passwords import MIN_PASSWORD_LENGTH, _common_passwords, check_new_password
from backend.lib.errors import Invalid
from tests.factories import Api


def test_the_shipped_list_of_common_passwords_is_loaded() -> None:
    common = _common_passwords()
    assert len(common) > 10_000
    assert {"password", "password123", "qwertyuiop", "1234567890"} <= common


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("password", "password_too_short"),
        ("x" * (MIN_PASSWORD_LENGTH - 1), "password_too_short"),
        ("Password123", "password_too_common"),
        ("QWERTYUIOP", "password_too_common"),
        ("1234567890", "password_too_common"),
        ("someone@example.org", "password_is_email"),
        ("Someone-Else", None),
    ],
)
def test_policy(password: str, code: str | None) -> None:
    email = "someone@example.org" if code == "password_is_email" else "someone-else@example.org"
    if code is None:
        check_new_password(password, "a@example.org")
        return
    with pytest.raises(Invalid) as refused:
        check_new_password(password, email)
    assert refused.value.code == code
    assert refused.value.errors == [{"field": "password", "message": refused.value.detail}]


async def test_accounts_and_drivers_get_no_weak_password(api: Api) -> None:
    hub = await api.hub()
    weak = ["password", "password123", "short", "Qwertyuiop"]
    for password in weak:
        for path, body in (
            ("/v1/users", {"email": "u@test.lastmile", "role": "dispatcher"}),
            ("/v1/drivers", {"name": "D", "email": "d@test.lastmile", "home_hub_id": hub["id"]}),
        ):
            response = await api.post(path, body | {"password": password})
            assert response.status_code == 422, (path, password)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["errors"][0]["field"] == "password"
    # Nothing was created.
    assert (await api.get("/v1/drivers")).json()["items"] == []
    ok = await api.post(
        "/v1/users",
        {"email": "u@test.lastmile", "role": "dispatcher", "password": "a-long-passphrase"},
    )
    assert ok.status_code == 201
