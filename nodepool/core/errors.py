"""Typed errors: the one vocabulary shared by services, adapters and the HTTP mapping.

`TransientError` means "try again later" (queue redelivery, next timer tick);
`PermanentError` means the request itself is wrong and retrying cannot help.
Every error carries a stable reason `code` for clients and a human `message`; neither may
contain a secret. What an error means in HTTP is functions/http.py's business alone.
"""
from __future__ import annotations


class NodepoolError(Exception):
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
    code = "invalid"


class TransientError(NodepoolError):
    code = "unavailable"


class InvalidInput(PermanentError):
    code = "invalid_request"


class Unauthenticated(PermanentError):
    code = "unauthenticated"


class Forbidden(PermanentError):
    code = "forbidden"


class NotFound(PermanentError):
    code = "not_found"


class Conflict(PermanentError):
    """A write lost an optimistic-concurrency race (ETag / resourceVersion mismatch)."""
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class IllegalTransition(PermanentError):
    """A registry row asked for a move its state does not allow (core/records.py TRANSITIONS)."""
    code = "illegal_transition"


class StorageRejected(PermanentError):
    """Storage refused the request itself (400, 413, 431, a key it cannot hold): retrying cannot help."""
    code = "storage_rejected"


class TooLarge(PermanentError):
    code = "payload_too_large"


class Throttled(TransientError):
    code = "throttled"


class Unavailable(TransientError):
    code = "unavailable"


class CapacityUnavailable(TransientError):
    """Azure has no capacity for this request now; `code` is Azure's (SkuNotAvailable, AllocationFailed, ...)."""
    code = "capacity_unavailable"
