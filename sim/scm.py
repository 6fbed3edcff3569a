"""The Function App's deployment endpoint (Flex Consumption "one deploy") as `tasks.py publish` uses it.

POST /api/publish?RemoteBuild=true with a zip answers 202 and the deployment id as the body;
GET /api/deployments/{id} moves Pending -> Building -> Deploying -> Success, `step_s` apart. A package
the remote build cannot use (not a zip; no function_app.py, host.json or requirements.txt at its
root) ends Failed, still with HTTP 200, as Flex answers: only the body tells.

What happens right after deploy-compute, for tests: `refuse_uploads` uploads are answered 400 with
the storage 403 the scm site reports while the app's new role assignment propagates (as Endjin's
ZeroFailed.Deploy.Azure describes it), and `garbled_polls` status reads a 502 HTML page.
"""
from __future__ import annotations

import io
import threading
import time
import uuid
import zipfile
from collections.abc import Callable

from sim.http import Request, Response, Server

NEEDED = ("function_app.py", "host.json", "requirements.txt")


class Scm:
    def __init__(self, accept_token: Callable[[str], bool], tls=None, step_s: float = 0.05, clock=time.time):
        self.accept_token, self.step_s, self.clock = accept_token, step_s, clock
        self.deployments: dict[str, dict] = {}
        self.packages: list[list[str]] = []  # names in each zip received, for tests
        self.refuse_uploads = 0
        self.garbled_polls = 0
        self.lock = threading.Lock()
        self.server = Server([("POST", r"/api/publish", self.publish),
                              ("GET", r"/api/deployments/(?P<id>[^/]+)", self.status)],
                             tls=tls.server_context() if tls else None, before=self._auth)

    def _auth(self, req: Request) -> Response | None:
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not self.accept_token(auth[7:]):
            return Response(401, {"Message": "Unauthorized"})
        return None

    def publish(self, req: Request) -> Response:
        if self.refuse_uploads > 0:
            self.refuse_uploads -= 1
            return Response(400, b"BlobUploadFailedException: Failed to upload blob to storage account: "
                                 b"Response status code does not indicate success: 403 (This request is not "
                                 b"authorized to perform this operation using this permission.).",
                            {"Content-Type": "text/plain"})
        if (req.arg("RemoteBuild") or "").lower() != "true":
            problem = "RemoteBuild=true is required: Flex Consumption builds Python packages remotely"
        else:
            problem = self._check(req.body)
        deployment = uuid.uuid4().hex
        with self.lock:
            self.deployments[deployment] = {"started": self.clock(), "problem": problem}
        return Response(202, deployment.encode(), {"Location": f"/api/deployments/{deployment}",
                                                    "Content-Type": "text/plain"})

    def _check(self, data: bytes) -> str:
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "the package is not a zip file"
        self.packages.append(names)
        missing = [n for n in NEEDED if n not in names]
        return f"the package has no {', '.join(missing)} at its root" if missing else ""

    def status(self, req: Request) -> Response:
        if self.garbled_polls > 0:
            self.garbled_polls -= 1
            return Response(502, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        item = self.deployments.get(req.params["id"])
        if item is None:
            return Response(404, {"Message": "Deployment not found"})
        step = int((self.clock() - item["started"]) / self.step_s)
        if step < 3:
            status, text = step, ("Pending", "Building the app (remote build)", "Deploying")[step]
        elif item["problem"]:
            status, text = 3, f"Remote build failed: {item['problem']}"
        else:
            status, text = 4, "Deployment successful"
        return Response(200, {"id": req.params["id"], "status": status, "status_text": text, "complete": step >= 3,
                              "active": status == 4})
