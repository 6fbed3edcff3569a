"""Typed errors: the one vocabulary shared by services, adapters and the HTTP mapping.

`TransientError` means "try again later" (queue redelivery, next timer tick, 503/429 to
a caller); `PermanentError` means the request itself is wrong and retrying cannot help.
Every error carries a stable reason `code` for clients and a human `message`; neither may
contain a secret.
"""
from __future__ import annotations


class NodepoolError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


class PermanentError(NodepoolError):
    status = 400
    code = "invalid"


class TransientError(NodepoolError):
    status = 503
    code = "unavailable"


class InvalidInput(PermanentError):
    status, code = 400, "invalid_request"


class Unauthenticated(PermanentError):
    status, code = 401, "unauthenticated"


class Forbidden(PermanentError):
    status, code = 403, "forbidden"


class NotFound(PermanentError):
    status, code = 404, "not_found"


class Conflict(PermanentError):
    """A write lost an optimistic-concurrency race (ETag / resourceVersion mismatch)."""
    status, code = 409, "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class TooLarge(PermanentError):
    status, code = 413, "payload_too_large"


class Throttled(TransientError):
    status, code = 429, "throttled"


class Unavailable(TransientError):
    status, code = 503, "unavailable"


class CapacityUnavailable(TransientError):
    """Azure has no capacity for this request now; `code` is Azure's (SkuNotAvailable, AllocationFailed, ...)."""
    status, code = 409, "capacity_unavailable"
