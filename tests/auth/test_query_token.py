"""`?access_token=` only where a browser cannot send a header, and never in a log line."""

import io
import logging

from litestar.testing import AsyncTestClient

from backend.lib.logs import JsonFormatter, RedactTokens, configure_logging
from tests.auth.support import tokens_for
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


async def test_a_query_token_is_refused_on_plain_http_endpoints(client: AsyncTestClient) -> None:
    token = (await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD))["access_token"]
    for path in ("/v1/hubs", "/v1/shipments", "/v1/tracking/positions", "/v1/devices"):
        response = await client.get(path, params={"access_token": token})
        assert response.status_code == 401, path
        assert response.json()["code"] == "missing_token"
    assert (await client.get("/v1/hubs", headers={"Authorization": f"Bearer {token}"})).is_success


# WebSocket handshakes accept `?access_token=` (and refuse a bad one): tests/live/test_workers.py,
# against a real server.


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, message, args, None)


def test_the_json_log_lines_redact_tokens_in_urls() -> None:
    record = _record(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5123", "/v1/live?types=a&access_token=e.y.J"
    )
    line = JsonFormatter().format(record)
    assert "e.y.J" not in line
    assert "access_token=[redacted]" in line and "types=a" in line


def test_uvicorn_handlers_of_their_own_redact_too() -> None:
    """When uvicorn is started by hand it logs through its own handlers and formatters."""
    stream = io.StringIO()
    own = logging.StreamHandler(stream)
    own.setFormatter(logging.Formatter("%(message)s"))
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(own)
    root_handlers = logging.getLogger().handlers[:]
    try:
        configure_logging("WARNING")
        own.handle(_record('"WebSocket %s" [accepted]', "/v1/live?ACCESS_TOKEN=secret-one"))
        assert "secret-one" not in stream.getvalue()
        assert any(isinstance(f, RedactTokens) for f in own.filters)
    finally:
        uvicorn_error.removeHandler(own)
        logging.getLogger().handlers[:] = root_handlers
