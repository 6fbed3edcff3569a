"""Queue sample app for devhost tests (short visibility timeout and polling in host.json).

`flaky` takes `first_sleep` seconds on its first delivery, then fails while the message's
dequeue count is <= its `fail_times`; `slow` takes a while and
counts how many run at once; `overrun` writes "start N" and "end N" (N: its dequeue count) to the
file its message names, sleeping `sleep` seconds between them on the first delivery, so what
outlives functionTimeout (and a worker restart) is in a file. `GET /api/state` reports what the
functions saw.
"""
import json
import threading
import time

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()
STATE = {"attempts": {}, "active": 0, "max_active": 0, "done": []}


@app.queue_trigger(arg_name="msg", queue_name="flaky", connection="AzureWebJobsStorage")
def flaky(msg: func.QueueMessage) -> None:
    data = msg.get_json()
    with _lock:
        STATE["attempts"].setdefault(data["key"], []).append({
            "id": msg.id, "dequeue_count": msg.dequeue_count, "at": time.monotonic(),
            "inserted": msg.insertion_time.isoformat() if msg.insertion_time else None,
            "pop_receipt": bool(msg.pop_receipt)})
    if msg.dequeue_count == 1:
        time.sleep(data.get("first_sleep", 0))
    if msg.dequeue_count <= data.get("fail_times", 0):
        raise RuntimeError(f"planned failure {msg.dequeue_count} of {data['key']}")


@app.queue_trigger(arg_name="msg", queue_name="slow", connection="AzureWebJobsStorage")
def slow(msg: func.QueueMessage) -> None:
    with _lock:
        STATE["active"] += 1
        STATE["max_active"] = max(STATE["max_active"], STATE["active"])
    time.sleep(0.3)
    with _lock:
        STATE["active"] -= 1
        STATE["done"].append(msg.get_body().decode())


@app.queue_trigger(arg_name="msg", queue_name="overrun", connection="AzureWebJobsStorage")
def overrun(msg: func.QueueMessage) -> None:
    data = msg.get_json()
    with open(data["marker"], "a") as marker:
        marker.write(f"start {msg.dequeue_count}\n")
    if msg.dequeue_count == 1:
        time.sleep(data["sleep"])
    with open(data["marker"], "a") as marker:
        marker.write(f"end {msg.dequeue_count}\n")


@app.route(route="state", auth_level=func.AuthLevel.ANONYMOUS)
def state(req: func.HttpRequest) -> func.HttpResponse:
    with _lock:
        return func.HttpResponse(json.dumps(STATE), mimetype="application/json")
