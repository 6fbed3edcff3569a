"""Queue triggers through the devhost against Azurite (tests/functions/apps/queue_app:
batchSize 2, newBatchThreshold 0, visibilityTimeout 1 s, maxDequeueCount 3)."""
import base64
import json
import socket
import threading
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from localenv.waiting import wait_for

APP = Path(__file__).parent / "apps" / "queue_app"
VISIBILITY_S, MAX_DEQUEUE = 1.0, 3


@pytest.fixture
def queue(storage_connection):
    """Raw (undecoded) access to a queue of this worker's account, created if missing."""
    def client(name: str) -> QueueClient:
        found = QueueClient.from_connection_string(storage_connection, name)
        try:
            found.create_queue()
        except ResourceExistsError:
            pass
        return found
    return client


def send(client: QueueClient, payload: bytes) -> None:
    client.send_message(base64.b64encode(payload).decode())  # what our app's Queues adapter sends


def state(host) -> dict:
    return requests.get(f"{host.url}/api/state", timeout=5).json()


def attempts(host, key: str) -> list[dict]:
    return state(host)["attempts"].get(key, [])


def test_message_carries_its_queue_fields_and_is_deleted_on_success(devhost, queue):
    host = devhost(APP)
    send(queue("flaky"), json.dumps({"key": "ok"}).encode())
    [seen] = wait_for(lambda: attempts(host, "ok"), what="one invocation")
    assert seen["dequeue_count"] == 1 and seen["id"] and seen["inserted"] and seen["pop_receipt"]
    wait_for(lambda: not queue("flaky").peek_messages(), what="message deleted")


def test_failed_message_is_retried_after_the_visibility_timeout(devhost, queue):
    host = devhost(APP)
    send(queue("flaky"), json.dumps({"key": "retry", "fail_times": 1}).encode())
    first, second = wait_for(lambda: len(attempts(host, "retry")) == 2 and attempts(host, "retry"),
                             what="a retry")
    assert (first["dequeue_count"], second["dequeue_count"]) == (1, 2)
    assert first["id"] == second["id"]
    assert second["at"] - first["at"] >= VISIBILITY_S - 0.1  # invisible for visibilityTimeout, then retried
    wait_for(lambda: not queue("flaky").peek_messages(), what="message deleted after the retry succeeded")
    assert not queue("flaky-poison").peek_messages()


def test_message_moves_to_poison_intact_after_max_dequeue_count(devhost, queue):
    host = devhost(APP)
    payload = json.dumps({"key": "poison", "fail_times": 99, "text": "ünïcode ✓ " * 20}).encode()
    send(queue("flaky"), payload)
    [moved] = wait_for(lambda: queue("flaky-poison").peek_messages(), timeout=20, what="poison message")
    assert base64.b64decode(moved.content) == payload
    assert [a["dequeue_count"] for a in attempts(host, "poison")] == list(range(1, MAX_DEQUEUE + 1))
    assert not queue("flaky").peek_messages()


def test_message_dequeued_beyond_max_goes_to_poison_without_running(devhost, queue):
    flaky = queue("flaky")
    payload = json.dumps({"key": "worn-out"}).encode()
    send(flaky, payload)
    for _ in range(MAX_DEQUEUE):  # another consumer took it MAX_DEQUEUE times and crashed each time
        [taken] = flaky.receive_messages(max_messages=1)
        flaky.update_message(taken, visibility_timeout=0)
    host = devhost(APP)
    [moved] = wait_for(lambda: queue("flaky-poison").peek_messages(), what="poison message")
    assert base64.b64decode(moved.content) == payload
    assert attempts(host, "worn-out") == []


def test_lease_is_renewed_while_a_function_outlives_it(devhost, queue):
    host = devhost(APP, env={"DEVHOST_QUEUE_LEASE": "2"})
    send(queue("flaky"), json.dumps({"key": "long", "first_sleep": 3}).encode())
    wait_for(lambda: attempts(host, "long"), what="the long run")
    assert host.wait_for_log("Executed 'Functions.flaky' (Succeeded", timeout=10)
    assert len(attempts(host, "long")) == 1  # never handed to a second invocation meanwhile
    assert not queue("flaky").peek_messages()


def test_message_of_a_killed_host_comes_back_after_the_lease(devhost, queue):
    crashed = devhost(APP, env={"DEVHOST_QUEUE_LEASE": "2"})
    send(queue("flaky"), json.dumps({"key": "crash", "first_sleep": 60}).encode())
    wait_for(lambda: attempts(crashed, "crash"), what="the first delivery")
    crashed.kill()
    restarted = devhost(APP)
    [again] = wait_for(lambda: attempts(restarted, "crash"), what="redelivery")
    assert again["dequeue_count"] == 2


def test_batch_size_bounds_concurrent_invocations(devhost, queue):
    slow = queue("slow")
    for n in range(8):
        send(slow, f"m{n}".encode())
    host = devhost(APP)
    done = wait_for(lambda: len(state(host)["done"]) == 8 and state(host), timeout=20, what="8 messages done")
    assert sorted(done["done"]) == [f"m{n}" for n in range(8)]
    assert done["max_active"] == 2  # batchSize 2 + newBatchThreshold 0: a batch runs at once, never more


class Gate:
    """A TCP relay in front of Azurite's queue port that a test can shut (connections refused,
    open ones cut) and open again on the same port: storage going away and coming back."""

    def __init__(self, target_port: int):
        self.target_port, self.port = target_port, 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def open(self) -> "Gate":
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        return self

    def shut(self) -> None:
        self._listener.close()
        for sock in self._open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


def test_listener_keeps_polling_through_a_storage_outage(devhost, azurite, storage_connection, queue):
    gate = Gate(azurite.ports["queue"]).open()
    through_gate = storage_connection.replace(f":{azurite.ports['queue']}/", f":{gate.port}/")
    host = devhost(APP, env={"AzureWebJobsStorage": through_gate})
    gate.shut()
    try:
        assert host.wait_for_log("storage unavailable")
        send(queue("flaky"), json.dumps({"key": "after-outage"}).encode())  # straight to Azurite
    finally:
        gate.open()
    [seen] = wait_for(lambda: attempts(host, "after-outage"), what="processed after the outage")
    assert seen["dequeue_count"] == 1
    assert host.wait_for_log("storage reachable again")
    gate.shut()


def test_an_invocation_past_function_timeout_is_cut_and_its_message_comes_back(devhost, queue, tmp_path):
    """As the Functions host does for an out-of-process worker: the invocation fails at functionTimeout,
    the worker restarts (nothing after the timeout runs), and the message is delivered again."""
    host = devhost(APP, env={"AzureFunctionsJobHost__functionTimeout": "00:00:02"})
    marker = tmp_path / "overrun.log"
    send(queue("overrun"), json.dumps({"marker": str(marker), "sleep": 8}).encode())
    wait_for(lambda: "end 2" in (marker.read_text() if marker.exists() else ""), timeout=60,
             what="the second delivery finished")
    assert marker.read_text().split("\n")[:3] == ["start 1", "start 2", "end 2"]  # the first never ended
    logs = host.logs()
    assert "Timeout value of 00:00:02 exceeded by function 'Functions.overrun'" in logs
    assert "restarting the worker after a function timeout" in logs
    assert requests.get(f"{host.url}/api/state", timeout=5).status_code == 200  # serving again, same port
