"""Translate the plain modules' errors into HTTP answers (404, 409, 422) at one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from central.billing.bills import BillingError, BillNotFound, BillStateError
from central.payments import errors as pay
from central.payments.prepaid import TryLater, WrongPin
from central.records.errors import Conflict, Invalid, NotFound, RecordsError


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(pay.PaymentError, _payment_error)
    app.add_exception_handler(RecordsError, _records_error)
    app.add_exception_handler(BillingError, _billing_error)
