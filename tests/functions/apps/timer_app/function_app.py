"""Timer sample app for devhost tests. `slow_tick`'s schedule comes from the SLOW_SCHEDULE
setting (the tests choose it); each run takes longer than a one-second schedule.
`GET /api/state` reports every run (start, end, past_due) and, per function, the most ever
running at once.
"""
import json
import threading
import time

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()
STATE = {"runs": {}, "active": {}, "max_active": {}}  # per function


def _record(name: str, timer: func.TimerRequest, seconds: float = 0.0) -> None:
    with _lock:
        STATE["active"][name] = STATE["active"].get(name, 0) + 1
        STATE["max_active"][name] = max(STATE["max_active"].get(name, 0), STATE["active"][name])
        run = {"start": time.time(), "past_due": timer.past_due, "status": timer.schedule_status}
    time.sleep(seconds)
    with _lock:
        STATE["active"][name] -= 1
        STATE["runs"].setdefault(name, []).append({**run, "end": time.time()})


@app.timer_trigger(schedule="%SLOW_SCHEDULE%", arg_name="timer", use_monitor=False)
def slow_tick(timer: func.TimerRequest) -> None:
    _record("slow_tick", timer, seconds=1.3)


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True, use_monitor=False)
def on_startup(timer: func.TimerRequest) -> None:
    _record("on_startup", timer)


@app.timer_trigger(schedule="0 0 3 * * *", arg_name="timer")  # daily: monitored by default
def daily(timer: func.TimerRequest) -> None:
    _record("daily", timer)


@app.route(route="state", auth_level=func.AuthLevel.ANONYMOUS)
def state(req: func.HttpRequest) -> func.HttpResponse:
    with _lock:
        return func.HttpResponse(json.dumps(STATE), mimetype="application/json")
