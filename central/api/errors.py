"""Every 4xx answer has one shape, :class:`ErrorOut`, documented on every operation; the plain
modules' errors are translated to it here (404, 409, 422) at one place.

``detail`` is a sentence, or for a request that breaks the schema the list of issues (where,
what, and the offending input cut short: a 10 MB bad body gets a short answer). ``field``
names the value a business rule refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError

from central.billing.bills import BillingError, BillNotFound, BillStateError
from central.payments import errors as pay
from central.payments.prepaid import TryLater, WrongPin
from central.records.errors import Conflict, Invalid, NotFound, RecordsError

log = structlog.get_logger(__name__)

MAX_ISSUES = 20
MAX_INPUT = 120  # characters of an offending input echoed back


class Issue(BaseModel):
    """One place where a request breaks the schema."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None


class ErrorOut(BaseModel):
    """The body of every 4xx answer."""

    detail: str | list[Issue]
    field: str | None = None


ERROR_STATUSES = {
    400: "The request could not be read",
    401: "Not authenticated",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Request body over the route's limit",
    422: "Invalid input: where and why",
    429: "Too many requests",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in ERROR_STATUSES.items()
}


def cap(value: Any) -> Any:
    """``value`` as echoed in an error: short strings and numbers as they are, else a summary."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_INPUT else value[:MAX_INPUT] + "…"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"
    if len(text) <= MAX_INPUT:
        return value
    if isinstance(value, dict):
        return f"<object of {len(value)} keys, {len(text)} characters>"
    if isinstance(value, list | tuple):
        return f"<array of {len(value)} items, {len(text)} characters>"
    return text[:MAX_INPUT] + "…"


def issues(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in list(errors)[:MAX_ISSUES]:
        out.append(
            {
                "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", ""))[:300],
                "type": str(err.get("type", "")),
                "input": cap(err.get("input")),
            }
        )
    return out


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": issues(exc.errors())}, status_code=422)


async def _records_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, Conflict):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    if isinstance(exc, Invalid):
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _billing_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, BillNotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, BillStateError):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value (too long, out of range): a bound is missing at the edge.
    The caller gets a 422; the log names the route so the bound gets added."""
    log.warning("database refused a value", path=request.url.path, error=str(exc)[:300])
    return JSONResponse({"detail": "a value does not fit the database"}, status_code=422)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """Two callers created the same record at once: the second one's check passed before the
    first one's row existed. The database's unique key decides; the loser gets a 409."""
    log.info("unique key refused a row", path=request.url.path, error=str(exc)[:300])
    return JSONResponse(
        {"detail": "conflicts with a record stored at the same time"}, status_code=409
    )


async def _payment_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, pay.NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, pay.Conflict):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    if isinstance(exc, WrongPin):
        return JSONResponse({"detail": str(exc), "tries_left": exc.left}, status_code=403)
    if isinstance(exc, TryLater):
        headers = {"Retry-After": str(exc.seconds)}
        return JSONResponse({"detail": str(exc)}, status_code=429, headers=headers)
    if isinstance(exc, pay.ProviderError):
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=502)
    field = exc.field if isinstance(exc, pay.Invalid) else None
    return JSONResponse({"detail": str(exc), "field": field}, status_code=422)


ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def document(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every 4xx of every operation as JSON ``ErrorOut``.

    FastAPI writes the shared error responses under a route's own media type (``text/html``
    for a page); the errors are JSON whatever the route, so they are moved back to JSON. A
    route whose own answer at such a status is not JSON (a page's 404) says so with
    ``openapi_extra`` and keeps that media type with its own schema beside the JSON one.
    """
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                for code, text in ERROR_STATUSES.items():
                    answer = responses.setdefault(str(code), {"description": text})
                    content: dict[str, Any] = {}
                    for media, body in answer.get("content", {}).items():
                        own = {k: v for k, v in body.get("schema", {}).items() if k != "$ref"}
                        if media != "application/json" and own:
                            content[media] = {**body, "schema": own}
                    answer["content"] = {"application/json": {"schema": ERROR_REF}, **content}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(pay.PaymentError, _payment_error)
    app.add_exception_handler(RecordsError, _records_error)
    app.add_exception_handler(BillingError, _billing_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
