"""Errors the edge maps to HTTP problem+json responses."""

from __future__ import annotations

from streams.exceptions import PlatformError


class ApiProblem(PlatformError):
    """An error with an HTTP status and a clear, user-facing detail (RFC 9457)."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason  # a stable code for machines (an RFC 9457 extension member)


class Unauthorized(ApiProblem):
    status = 401
    title = "Unauthorized"


class Forbidden(ApiProblem):
    status = 403
    title = "Forbidden"


class NotFound(ApiProblem):
    status = 404
    title = "Not found"


class Conflict(ApiProblem):
    status = 409
    title = "Conflict"


class Unprocessable(ApiProblem):
    status = 422
    title = "Unprocessable request"


class TooManyRequests(ApiProblem):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int, reason: str | None = None) -> None:
        super().__init__(detail, reason)
        self.retry_after_s = retry_after_s
