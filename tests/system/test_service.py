"""The service's edges: health, docs, problem documents, limits and the unit of work."""

from litestar import get
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from backend.app import create_app
from backend.db.session import DbSession
from tests.conftest import make_settings
from tests.factories import Api, shipment_body


async def test_health_and_readiness(client: AsyncTestClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["postgis"].startswith("3.")


async def test_readiness_fails_cleanly_without_a_database(database: str) -> None:
    app = create_app(make_settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere"))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"


async def test_openapi_schema_and_browsable_docs(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/v1/shipments/bulk" in schema["paths"]
    assert "/v1/auth/token" in schema["paths"]
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


async def test_request_id_is_echoed_or_made(client: AsyncTestClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert echoed.headers["x-request-id"] == "abc123"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32


async def test_unknown_route_is_a_problem_document(api: Api) -> None:
    response = await api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_body_over_the_limit_is_413_and_stores_nothing(database: str, db) -> None:
    app = create_app(make_settings(bulk_max_bytes=4096, blob_max_bytes=4096))
    async with AsyncTestClient(app=app) as client:
        from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

        api = await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        hub = await api.hub()
        before = await db.fetchval("SELECT count(*) FROM shipments")
        body = {"shipments": [shipment_body(hub["id"]) for _ in range(40)]}
        response = await api.post("/v1/shipments/bulk", body)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert await db.fetchval("SELECT count(*) FROM shipments") == before


@get("/test/failing-commit", exclude_from_auth=True)
async def failing_commit(db_session: DbSession) -> dict[str, str]:
    """Writes rows that only break a constraint when the transaction commits."""
    await db_session.execute(
        text(
            "CREATE TEMP TABLE deferred_check (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"
            " ON COMMIT DROP"
        )
    )
    await db_session.execute(text("INSERT INTO deferred_check VALUES (1), (1)"))
    await db_session.execute(
        text(
            "INSERT INTO hubs (id, name, code, location) VALUES (gen_random_uuid(), 'ghost', 'GHOST', 'POINT(0 0)')"
        )
    )
    return {"status": "handler finished"}


async def test_a_failed_commit_is_an_error_not_a_2xx(database: str, db) -> None:
    app = create_app(make_settings())
    app.register(failing_commit)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/test/failing-commit")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "database_error"
    assert await db.fetchval("SELECT count(*) FROM hubs WHERE code = 'GHOST'") == 0
