"""The documentation pages load nothing from the internet: every script, stylesheet and icon
they name is served by the app itself (backend/static/swagger-ui)."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_docs_page_loads_only_assets_the_app_serves(
    client: AsyncTestClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = ASSET.findall(html)
    assert len(assets) >= 3  # the bundle, the preset, the stylesheet (and the icon)
    external = [url for url in assets if re.match(r"(?i)(https?:)?//", url)]
    assert not external, external
    for url in assets:
        served = await client.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 0, url
    # The page outside the embedded OpenAPI document names no other server either.
    page_only = html.split("spec:", 1)[0]
    assert not re.search(r"(?i)https?://", page_only), page_only


async def test_the_vendored_assets_fetch_nothing_themselves(client: AsyncTestClient) -> None:
    stylesheet = (await client.get("/schema/assets/swagger-ui.css")).text
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", stylesheet)
    assert not re.search(r"@import", stylesheet)


async def test_the_json_document_and_an_unknown_asset(client: AsyncTestClient) -> None:
    assert (await client.get("/schema/openapi.json")).json()["openapi"].startswith("3.1")
    missing = await client.get("/schema/assets/nothing-here.js")
    assert missing.status_code == 404
