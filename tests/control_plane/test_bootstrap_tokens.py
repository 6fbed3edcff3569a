"""A join token minted by the app is a Kubernetes bootstrap token: the real apiserver's bootstrap
authenticator (--enable-bootstrap-token-auth) accepts it as `system:bootstrap:<id>` in k3s's node
group, and refuses it once it expired or was revoked; the token cleaner then deletes its secret."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from localenv.waiting import wait_for
from nodepool.adapters.kube_http import KubeHttp
from nodepool.core.errors import Unavailable
from nodepool.core.k3s import BOOTSTRAP_GROUP, BOOTSTRAP_SECRET_TYPE, KUBE_SYSTEM, bootstrap_secret_name
from nodepool.fakes.registry import FakeRegistry
from nodepool.join.request import BootstrapToken
from nodepool.join.service import revoke_unanswered_token

SELF_REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def mint(app_kube, now: datetime, ttl_s: int = 900) -> BootstrapToken:
    """What JoinService.join writes for a joining node, with the app's own credential."""
    token = BootstrapToken.mint(now, ttl_s)
    app_kube.create_secret(KUBE_SYSTEM, bootstrap_secret_name(token.token_id), type=BOOTSTRAP_SECRET_TYPE,
                           string_data=token.secret_data("agents000000"))
    return token


def who(control_plane, token: BootstrapToken) -> dict:
    api = KubeHttp(control_plane.url, f"{token.token_id}.{token.secret}", control_plane.ca_pem)
    review = api.call("POST", SELF_REVIEW, "self subject review",
                      body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    return review["status"]["userInfo"]


def refused(control_plane, token: BootstrapToken) -> bool:
    """The apiserver answers 401 (the adapter's kube_credentials)."""
    try:
        who(control_plane, token)
    except Unavailable as err:
        return err.code == "kube_credentials"
    return False


def test_a_minted_token_authenticates_as_a_k3s_bootstrapper(control_plane, app_kube, real_kube):
    token = mint(app_kube, datetime.now(timezone.utc))
    user = who(control_plane, token)
    assert user["username"] == f"system:bootstrap:{token.token_id}"
    assert BOOTSTRAP_GROUP in user["groups"] and "system:bootstrappers" in user["groups"]


def test_an_expired_token_is_refused_and_cleaned_up(control_plane, app_kube, admin, real_kube):
    token = mint(app_kube, datetime.now(timezone.utc) - timedelta(hours=2), ttl_s=3600)
    assert refused(control_plane, token)
    secrets = f"/api/v1/namespaces/{KUBE_SYSTEM}/secrets"
    wait_for(lambda: bootstrap_secret_name(token.token_id) not in {
        s["metadata"]["name"] for s in admin.pages(secrets, "list secrets", {})},
        60, interval=0.5, what="the token cleaner deleting the secret")


def test_a_revoked_token_is_refused(control_plane, app_kube, real_kube):
    token = mint(app_kube, datetime.now(timezone.utc))
    assert who(control_plane, token)["username"] == f"system:bootstrap:{token.token_id}"
    revoke_unanswered_token(FakeRegistry(), app_kube, token.token_id)
    # The authenticator reads secrets through the apiserver's informer: the deletion counts once it is seen.
    wait_for(lambda: refused(control_plane, token), 30, interval=0.1, what="the revoked token refused")


def test_a_token_with_a_wrong_secret_is_refused(control_plane, app_kube, real_kube):
    token = mint(app_kube, datetime.now(timezone.utc))
    assert refused(control_plane, BootstrapToken(token.token_id, "x" * 16, token.expires_at))
