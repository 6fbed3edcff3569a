"""Log Analytics' query API (POST /v1/workspaces/{id}/query), as `tasks.py tail-logs` uses it: the
app's AppTraces rows after the `todatetime('...')` the query names, in the API's table shape.
Only that one query shape is understood; anything else is 400 as a bad KQL would be.
"""
from __future__ import annotations

import re
import threading

from sim.http import Request, Response, Server

SINCE = re.compile(r"^AppTraces \| where TimeGenerated > todatetime\('([^']+)'\)")
COLUMNS = [{"name": "TimeGenerated", "type": "datetime"}, {"name": "SeverityLevel", "type": "int"},
           {"name": "OperationName", "type": "string"}, {"name": "Message", "type": "string"}]


class Logs:
    def __init__(self, workspace: str, accept_token, tls=None):
        self.workspace, self.accept_token = workspace, accept_token
        self.rows: list[list] = []  # [ISO time, severity, operation, message], in time order
        self.lock = threading.Lock()
        self.server = Server([("POST", r"/v1/workspaces/(?P<ws>[^/]+)/query", self.query)],
                             tls=tls.server_context() if tls else None)

    def add(self, when: str, severity: int, operation: str, message: str) -> None:
        with self.lock:
            self.rows.append([when, severity, operation, message])

    def query(self, req: Request) -> Response:
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not self.accept_token(auth[7:]):
            return Response(401, {"error": {"code": "AuthorizationRequiredError", "message": "Valid authentication "
                                            "was not provided"}})
        if req.params["ws"] != self.workspace:
            return Response(404, {"error": {"code": "WorkspaceNotFoundError", "message": "The workspace could not "
                                            "be found"}})
        match = SINCE.match((req.json() or {}).get("query", ""))
        if not match:
            return Response(400, {"error": {"code": "BadArgumentError", "message": "The request had some invalid "
                                            "properties"}})
        since = match.group(1).rstrip("Z")
        with self.lock:
            rows = [r for r in self.rows if r[0].rstrip("Z") > since]
        return Response(200, {"tables": [{"name": "PrimaryResult", "columns": COLUMNS, "rows": rows}]})
