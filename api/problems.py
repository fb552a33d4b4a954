"""Errors as application/problem+json (RFC 9457): a status, a title, a readable ``detail``.

A validation error also names each field that is wrong (``errors``, the first one in ``detail``);
a shortage lists each product and how many are missing (``shortages``). Every error a user can
cause in db/ (a PosError) maps to a status here, in one table.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfStock, PosError, StaleCart

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
_STATUS_OF: list[tuple[type[PosError], int]] = [
    (OutOfStock, 409),
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
    (StaleCart, 409),
    (Forbidden, 403),
]


class ApiProblem(Exception):
    """An error the API itself answers (authentication, roles, the rate limit, a bad field)."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra


def body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail, **extra}


def encode(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def response(status: int, content: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(encode(content), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def of_pos_error(error: PosError) -> tuple[int, dict[str, Any]]:
    """The status and problem body of an error raised by db/."""
    status = next((code for kind, code in _STATUS_OF if isinstance(error, kind)), 400)
    extra: dict[str, Any] = {}
    if isinstance(error, OutOfStock):
        extra["shortages"] = [
            {
                "product_id": s.product_id,
                "name": s.name,
                "requested": s.requested,
                "available": s.available,
                "missing": s.missing,
            }
            for s in error.shortages
        ]
    return status, body(status, error.message, **extra)


def field_name(loc: tuple[Any, ...]) -> str:
    """("body", "lines", 0, "quantity") -> "lines[0].quantity"; query and path names as they are."""
    name = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _validation(error: RequestValidationError) -> dict[str, Any]:
    errors = []
    for item in error.errors():
        where = item["loc"][0] if item["loc"] else "body"
        message = str(item["msg"]).removeprefix("Value error, ")
        errors.append({"field": field_name(tuple(item["loc"])), "in": where, "detail": message})
    first = errors[0] if errors else {"field": "body", "detail": "is not valid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return body(422, f"{first['field']}: {first['detail']}{more}", errors=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(_request: Request, error: ApiProblem) -> Response:
        return response(error.status, body(error.status, error.detail, **error.extra), error.headers)

    @app.exception_handler(PosError)
    async def _pos_error(_request: Request, error: PosError) -> Response:
        return response(*of_pos_error(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> Response:
        return response(422, _validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> Response:
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        if error.status_code == 404 and detail == "Not Found":
            detail = "There is no such endpoint: see /docs for the ones there are."
        return response(error.status_code, body(error.status_code, detail), dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> Response:
        # Method and path only: headers (the key) and bodies never reach the log.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return response(500, body(500, "Something went wrong on our side; nothing was saved. Try again."))
