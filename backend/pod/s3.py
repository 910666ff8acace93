"""Blobs in any S3-compatible object store (AWS S3, MinIO, Ceph, Garage, …), path-style URLs,
requests signed with AWS Signature Version 4 over httpx. No SDK: three calls are all we need.

An S3 PUT is atomic by itself (the object appears whole or not at all), and the body is sent
with its SHA-256 in `x-amz-content-sha256`, which the store checks before accepting it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from backend.pod.storage import SHA256_HEX, StoreUnavailable

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(RuntimeError):
    """The object store answered something other than success or not-found."""


class S3BlobStore:
    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "us-east-1",
        prefix: str = "blobs/",
        timeout_seconds: float = 30.0,
    ) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.region = region
        self.prefix = prefix
        self.timeout = timeout_seconds

    def url(self, sha256: str) -> str:
        if not SHA256_HEX.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return f"{self.endpoint_url}/{self.bucket}/{self.prefix}{sha256}"

    async def put(self, sha256: str, data: bytes) -> None:
        response = await self._send("PUT", self.url(sha256), data)
        if response.status_code != 200:
            raise S3Error(f"PUT {sha256}: {response.status_code} {response.text[:200]}")

    async def get(self, sha256: str) -> bytes | None:
        response = await self._send("GET", self.url(sha256))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise S3Error(f"GET {sha256}: {response.status_code} {response.text[:200]}")
        return response.content

    async def has(self, sha256: str) -> bool:
        response = await self._send("HEAD", self.url(sha256))
        if response.status_code not in (200, 404):
            raise S3Error(f"HEAD {sha256}: {response.status_code}")
        return response.status_code == 200

    async def delete(self, sha256: str) -> None:
        response = await self._send("DELETE", self.url(sha256))
        if response.status_code not in (200, 204, 404):
            raise S3Error(f"DELETE {sha256}: {response.status_code}")

    async def create_bucket(self) -> None:
        """Make the bucket if it is missing (deployments usually make it beforehand)."""
        response = await self._send("PUT", f"{self.endpoint_url}/{self.bucket}")
        if response.status_code not in (200, 409):
            raise S3Error(f"create bucket: {response.status_code} {response.text[:200]}")

    async def _send(self, method: str, url: str, body: bytes = b"") -> httpx.Response:
        headers = sign(
            method,
            url,
            {},
            hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
            now=datetime.now(UTC),
        )
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(method, url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"The object store is not reachable ({type(exc).__name__}); nothing was stored."
            ) from exc
        if response.status_code in (500, 502, 503, 504):
            raise StoreUnavailable(
                f"The object store answered {response.status_code}; nothing was stored."
            )
        return response


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_sha256: str,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    now: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers of a SigV4-signed request (path and query must already be URI-encoded)."""
    parts = urlsplit(url)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    signed = {key.lower(): value.strip() for key, value in headers.items()} | {
        "host": parts.netloc,
        "x-amz-content-sha256": payload_sha256,
        "x-amz-date": stamp,
    }
    names = sorted(signed)
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_access_key).encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return signed | {
        "authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    }
