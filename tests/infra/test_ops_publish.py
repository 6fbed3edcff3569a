"""`tasks.py publish`: the package follows .funcignore, and success or failure is read from the body of
the deployment status (Flex answers 200 either way), against sim/scm.py."""
import io
import zipfile

import pytest

from ops import publish as P
from ops.errors import OpsError
from sim.scm import Scm


@pytest.fixture
def scm():
    stand_in = Scm(lambda token: token == "good")
    stand_in.server.start()
    yield stand_in
    stand_in.server.stop()


def test_the_package_holds_the_app_and_nothing_funcignore_excludes():
    data, names = P.package()
    assert {"function_app.py", "host.json", "requirements.txt", "nodepool/settings.py"} <= set(names)
    left_out = ("tests", "sim", "devhost", "infra", "ops", "docs", ".venv", ".git")
    assert not [n for n in names if n.split("/")[0] in left_out]
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == names
    assert P.package()[0] == data  # byte-for-byte reproducible


def test_a_good_package_is_published_and_polled_to_success(scm):
    lines = []
    body = P.publish(scm.server.url, "good", P.package()[0], interval=0.02, say=lines.append)
    assert body["status"] == 4 and lines[-1].endswith("Success Deployment successful")
    assert "function_app.py" in scm.packages[-1]


def test_a_failed_remote_build_is_a_failure_although_the_endpoint_answers_200(scm):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("host.json", "{}")
    with pytest.raises(OpsError, match="Failed: Remote build failed: the package has no function_app.py"):
        P.publish(scm.server.url, "good", archive.getvalue(), interval=0.02, say=lambda _: None)


def test_a_refused_upload_is_one_clear_error(scm):
    with pytest.raises(OpsError, match="HTTP 401"):
        P.publish(scm.server.url, "bad", P.package()[0], interval=0.02, say=lambda _: None)


def test_a_storage_403_while_the_role_propagates_is_retried_and_then_published(scm):
    scm.refuse_uploads = 2
    lines = []
    body = P.publish(scm.server.url, "good", P.package()[0], interval=0.02, retry_wait=0.01, say=lines.append)
    assert body["status"] == 4 and scm.refuse_uploads == 0
    assert sum("storage role is not effective yet" in line for line in lines) == 2


def test_the_propagation_retry_is_bounded_and_says_what_to_check(scm):
    scm.refuse_uploads = 1000
    waits = []
    with pytest.raises(OpsError, match="still refused after 0s: check the app identity's Storage Blob Data Owner"):
        P.upload(scm.server.url, {"Authorization": "Bearer good"}, P.package()[0], wait=1.0, budget=0.0,
                 sleep=waits.append, say=lambda _: None)
    assert waits == []


def test_a_non_json_status_reply_is_polled_through(scm):
    scm.garbled_polls = 3
    lines = []
    body = P.publish(scm.server.url, "good", P.package()[0], interval=0.02, say=lines.append)
    assert body["status"] == 4 and scm.garbled_polls == 0
    assert any("answered no status" in line for line in lines)
