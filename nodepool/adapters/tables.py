"""Table Storage adapter (azure-data-tables): entities with ETag concurrency.

Tables are created on first use, idempotently. Connection-string auth for Azurite,
DefaultAzureCredential with the account URL in Azure. SDK errors are translated into
our typed errors: a lost ETag race is `Conflict`, a storage outage is `Unavailable`, and a
request storage refuses as such (a key it cannot hold, a header or entity too large) is the
permanent `StorageRejected`: retrying it, as agents do on a 503, could never succeed.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient, UpdateMode
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from nodepool.adapters.credentials import azure_credential
from nodepool.adapters.http_session import EnvironmentOnceSession
from nodepool.adapters.retries import JitteredRetry
from nodepool.core.errors import AlreadyExists, Conflict, NodepoolError, NotFound, StorageRejected, Unavailable
from nodepool.core.limits import STORAGE_BACKOFF_S, STORAGE_CONNECT_S, STORAGE_READ_S, STORAGE_RETRIES, Pools
from nodepool.settings import Settings

TIMEOUTS = {"connection_timeout": STORAGE_CONNECT_S, "read_timeout": STORAGE_READ_S}
RETRY = {"retry_total": STORAGE_RETRIES, "retry_backoff_factor": STORAGE_BACKOFF_S}
# Answers that reject the request itself (bad key or value, entity/URL/headers too large), not the moment.
REJECTED_STATUS = frozenset({400, 411, 413, 414, 431})


def transport(settings: Settings) -> RequestsTransport:
    """azure-core's requests transport keeping a connection per thread that may call storage at once
    (Pools.storage_connections; azure-core keeps 10, past the pool every call reconnects); shared with
    the queue adapter."""
    adapter = HTTPAdapter(pool_maxsize=Pools(settings.drain_workers).storage_connections,
                          max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session = EnvironmentOnceSession(adapter)
    return RequestsTransport(session=session, session_owner=False, connection_timeout=TIMEOUTS["connection_timeout"],
                             read_timeout=TIMEOUTS["read_timeout"])


def raised_by_sdk(err: BaseException) -> bool:
    """Whether the innermost frame of `err`'s traceback is in the Azure SDK (its checks of what we send)."""
    tb, frame = err.__traceback__, None
    while tb is not None:
        frame = tb.tb_frame
        tb = tb.tb_next
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith("azure.")


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate azure-core exceptions into our typed errors (shared with the queue adapter)."""
    try:
        yield
    except ResourceModifiedError as err:
        raise Conflict(f"{what}: changed by another writer") from err
    except ResourceExistsError as err:
        raise AlreadyExists(f"{what}: already exists") from err
    except ResourceNotFoundError as err:
        raise NotFound(f"{what}: not found") from err
    except HttpResponseError as err:
        if err.status_code == 412:
            raise Conflict(f"{what}: changed by another writer") from err
        if err.status_code in REJECTED_STATUS:
            raise StorageRejected(f"storage refused the request ({err.status_code})") from err
        raise Unavailable(f"{what}: storage answered {err.status_code}") from err
    except (ValueError, TypeError) as err:
        if not raised_by_sdk(err):
            raise  # our own bug: it surfaces with its stack, never as "storage refused"
        # the SDK's own checks of keys and values, before sending
        raise StorageRejected(f"storage cannot hold this request ({type(err).__name__})") from err
    except AzureError as err:
        raise Unavailable(f"{what}: storage unreachable ({type(err).__name__})") from err


def table_service(settings: Settings) -> TableServiceClient:
    options = {**TIMEOUTS, "retry_policy": JitteredRetry(**RETRY),
               "transport": transport(settings)}
    if settings.storage_connection and settings.uses_connection_string():
        return TableServiceClient.from_connection_string(settings.storage_connection, **options)
    return TableServiceClient(settings.service_url("table"), credential=azure_credential(settings), **options)


def _transaction_error(err: Unavailable, what: str) -> NodepoolError:
    """A refused transaction answers one status for all its operations: 409 (a create's key is taken)
    and 404 (a delete's row is gone) mean what they mean for a single write."""
    status = getattr(err.__cause__, "status_code", None)
    if status == 409:
        return AlreadyExists(f"{what}: already exists")
    if status == 404:
        return NotFound(f"{what}: not found")
    return err


class Table:
    """One table; every write states its concurrency intent explicitly."""

    def __init__(self, service: TableServiceClient, name: str):
        self.name = name
        self._service = service
        self._client = service.get_table_client(name)
        self._created = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._created:
            return
        with self._lock, storage_errors(f"table {self.name}"):
            if not self._created:
                self._service.create_table_if_not_exists(self.name)
                self._created = True

    def get(self, pk: str, rk: str) -> dict | None:
        """The entity with its ETag under key 'etag', or None."""
        self._ensure()
        try:
            with storage_errors(f"{self.name}/{pk}/{rk}"):
                entity = self._client.get_entity(pk, rk)
        except NotFound:
            return None
        return _plain(entity)

    def insert(self, entity: dict) -> str:
        """Create; AlreadyExists if the key is taken. Returns the new ETag."""
        self._ensure()
        with storage_errors(_key(self.name, entity)):
            return self._client.create_entity(_strip(entity))["etag"]

    def update(self, entity: dict, etag: str) -> str:
        """Replace only if unchanged since `etag`; Conflict otherwise. Returns the new ETag."""
        self._ensure()
        with storage_errors(_key(self.name, entity)):
            meta = self._client.update_entity(
                _strip(entity), mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return meta["etag"]

    def upsert(self, entity: dict) -> str:
        """Unconditional replace (only for rows with a single writer)."""
        self._ensure()
        with storage_errors(_key(self.name, entity)):
            return self._client.upsert_entity(_strip(entity), mode=UpdateMode.REPLACE)["etag"]

    def delete(self, pk: str, rk: str, etag: str | None = None) -> None:
        """Delete (conditional when `etag` is given); deleting a missing row is not an error."""
        self._ensure()
        try:
            with storage_errors(f"{self.name}/{pk}/{rk}"):
                if etag:
                    self._client.delete_entity(pk, rk, etag=etag, match_condition=MatchConditions.IfNotModified)
                else:
                    self._client.delete_entity(pk, rk)
        except NotFound:
            pass

    def transact(self, operations: list[tuple[str, dict]]) -> list[str]:
        """All of `operations` or none, on rows of one partition: ("create" | "upsert" | "delete", entity).
        AlreadyExists when a create finds its key taken, NotFound when a delete finds nothing; the ETags
        of the rows written, in order."""
        self._ensure()
        what = _key(self.name, operations[0][1])
        try:
            with storage_errors(what):
                results = self._client.submit_transaction(
                    [(op, _strip(entity) if op != "delete" else entity) for op, entity in operations])
        except Unavailable as err:
            raise _transaction_error(err, what) from err
        return [str(r.get("etag", "")) for r in results]

    def query(self, filter: str, parameters: dict | None = None, page_size: int = 1000) -> Iterator[dict]:
        self._ensure()
        with storage_errors(f"table {self.name}"):
            for entity in self._client.query_entities(filter, parameters=parameters, results_per_page=page_size):
                yield _plain(entity)

    def page(self, filter: str, parameters: dict | None, size: int, token: str | None) -> tuple[list[dict], str | None]:
        """One page of at most `size` rows and the continuation token for the next."""
        self._ensure()
        with storage_errors(f"table {self.name}"):
            # The Tables SDK's continuation token is a dict of next keys, though it is annotated as a str.
            pages = self._client.query_entities(filter, parameters=parameters, results_per_page=size).by_page(
                continuation_token=_decode_token(token)  # type: ignore[arg-type]
            )
            rows = [_plain(e) for e in next(pages, [])]
            return rows, _encode_token(pages.continuation_token)  # type: ignore[attr-defined]


class Tables:
    """The table service of one storage account; hands out `Table`s, each created once."""

    def __init__(self, settings: Settings):
        self._service = table_service(settings)
        self._tables: dict[str, Table] = {}

    def __call__(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = Table(self._service, name)
        return self._tables[name]

    def ping(self) -> None:
        """Raise Unavailable unless the table service answers."""
        with storage_errors("table service"):
            next(iter(self._service.list_tables(results_per_page=1)), None)


def _plain(entity) -> dict:
    row = dict(entity)
    row["etag"] = entity.metadata["etag"]
    return row


def _strip(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if k != "etag"}


def _key(table: str, entity: dict) -> str:
    return f"{table}/{entity.get('PartitionKey')}/{entity.get('RowKey')}"


def _encode_token(token: dict | None) -> str | None:
    if not token:
        return None
    return f"{token.get('PartitionKey', '')}:{token.get('RowKey', '')}"


def _decode_token(token: str | None) -> dict | None:
    if not token:
        return None
    pk, _, rk = token.partition(":")
    return {"PartitionKey": pk, "RowKey": rk}
