"""One exception type for operator-facing failures: tasks print its message as one line."""


class OpsError(Exception):
    """A failure the operator can act on; the message says what and, where possible, what to do."""
