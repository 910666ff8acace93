"""The console's files: read from `static/` once, served with their type, a strong ETag and a
cache policy (vendored libraries carry their version in the path, so they are immutable)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # the console's own code: always checked, cheap with the ETag


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str
    cache_control: str


def static_file(relative: str) -> StaticFile | None:
    """The file at `relative` under `static/`, or None: unknown, hidden, outside, or a type we
    do not serve. Nothing outside `static/` is ever read."""
    parts = [p for p in relative.split("/") if p]
    if (
        not parts
        or len(relative) > 200
        or any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts)
    ):
        return None
    return _load("/".join(parts))


@functools.lru_cache(maxsize=256)
def _load(relative: str) -> StaticFile | None:
    root = STATIC_DIR.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path.suffix not in TYPES:
        return None
    try:
        body = path.read_bytes()
    except OSError:  # missing, a directory, or a name the file system refuses
        return None
    cache = IMMUTABLE if relative.startswith("vendor/") else REVALIDATE
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return StaticFile(body, TYPES[path.suffix], etag, cache)
