"""The answers every authenticated route can give, written into the OpenAPI document: 401 (no
or bad credentials) and 403 (a role the route does not admit), each ``{"detail": "..."}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
ANSWERS = {
    "401": "not authenticated: no, bad, expired or revoked credentials",
    "403": "authenticated, but no role this route admits",
}


def document(app: FastAPI) -> None:
    """Make ``app.openapi()`` list 401 and 403 on every route that needs credentials."""
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or not operation.get("security"):
                    continue
                responses = operation.setdefault("responses", {})
                for code, text in ANSWERS.items():
                    responses.setdefault(
                        code,
                        {
                            "description": text,
                            "content": {"application/json": {"schema": ERROR}},
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
