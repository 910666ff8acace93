"""The OpenAPI document: configuration (config.py), what handlers declare (declare.py), the
finishing of each operation (finish.py), problem documents (problems.py), who may call
(security.py) and the offline documentation pages (assets.py). docs/api.md is the guide."""

from backend.lib.openapi.declare import examples, merge, raises, raw_body, raw_response

__all__ = ["examples", "merge", "raises", "raw_body", "raw_response"]
