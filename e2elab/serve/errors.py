"""Every answer that is not a success is ``{"error": {"code", "message"}}``: a code a client can
branch on, and a message that names the file or field and says what is wrong.

FastAPI's own errors (an unknown route, a wrong method, a body it cannot parse) are reworded into
the same shape, so that a client never has to tell two error formats apart.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import AudioError, DataError, ImageError

log = logging.getLogger("e2elab.serve")


class ApiError(Exception):
    """A request the server refuses: the HTTP status, a stable code, a message for a person."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def unreadable(err: DataError) -> ApiError:
    """An input e2elab's readers refused (truncated, corrupt, silent, ...) as a 422."""
    what = "image" if isinstance(err, ImageError) else "audio clip" if isinstance(err, AudioError) else "input"
    return ApiError(422, "unreadable_input", f"cannot use the {what} {err}")


# Statuses Starlette raises itself, each with the code this API uses for it.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type"}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refused or failed request with the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return error_response(err.status, err.code, err.message, err.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, err: HTTPException):
        code = _HTTP_CODES.get(err.status_code, "http_error")
        message = str(err.detail) if err.status_code != 404 else f"no such endpoint: {request.method} {request.url.path}"
        return error_response(err.status_code, code, message, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        return error_response(422, "invalid_request", problems or "the request does not match the API")

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception):
        # A bug, not bad input: logged with its traceback; the client gets no internals.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", f"the server failed on this request ({type(err).__name__}); "
                                                     "see the server's log")
