"""The agent scale set through azure-mgmt-compute: the `ScaleSet` port for Azure and the simulator.

The two differ only in settings: ARM base URL, credential (managed identity / static token)
and CA bundle. Retries honour Retry-After within a bounded budget, so one call never blocks
a Functions invocation for long; long-running operations are polled for at most `lro_wait_s`
(the operation carries on in Azure and the next tick observes it); capacity writes carry
If-Match. azure-core errors become our typed errors (see `arm_errors`); Azure's "no capacity"
codes become CapacityUnavailable carrying the code, whether the write was refused at once (409
SkuNotAvailable, OperationNotAllowed for quota) or its operation ended Failed (AllocationFailed).
One instance per scale set: `name` picks an autoscale pool's (default NODEPOOL_SCALE_SET).
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as m

from nodepool.adapters import azure_names
from nodepool.adapters.credentials import azure_credential
from nodepool.adapters.retries import JitteredRetry
from nodepool.autoscale.backoff import is_capacity_error
from nodepool.core.errors import (
    CapacityUnavailable,
    Conflict,
    InvalidInput,
    NodepoolError,
    NotFound,
    Throttled,
    Unavailable,
)
from nodepool.core.limits import ARM_CONNECT_S, ARM_READ_S, ARM_RETRY_BUDGET_S
from nodepool.core.model import Instance, ProviderClaim, ScaleSetInfo, Snapshot
from nodepool.settings import InvalidSettings, Settings


class BoundedRetry(JitteredRetry):
    """azure-core's retries (429/5xx, Retry-After honoured), but no retry starts past `budget_s`: a
    Retry-After longer than what is left ends the retries and the caller gets Throttled. A call
    therefore takes at most budget_s + a connect and a read (core/limits.py ARM_CALL_S)."""

    def __init__(self, budget_s: float = ARM_RETRY_BUDGET_S):
        super().__init__(retry_total=5, retry_backoff_factor=0.5, retry_backoff_max=8, timeout=budget_s)
        self.budget_s = budget_s

    def configure_retries(self, options):
        settings = super().configure_retries(options)
        settings["deadline"] = time.monotonic() + self.budget_s
        return settings

    def increment(self, settings, response=None, error=None) -> bool:
        if not super().increment(settings, response=response, error=error):
            return False
        wait = self.get_retry_after(response) if hasattr(response, "http_response") else None
        return time.monotonic() + (wait or self.get_backoff_time(settings)) <= settings["deadline"]


def _retry_after(err: HttpResponseError) -> float | None:
    raw = getattr(err.response, "headers", {}).get("Retry-After") if err.response is not None else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def capacity_code(err: HttpResponseError) -> str | None:
    """Azure's code when the error says "no capacity": ARM's error body (`{"error": {"code": ...}}`, on
    the answer itself or on the failed operation's status), which azure-core parses into err.error.
    OperationNotAllowed counts only when it is about quota (it also refuses, e.g., protected scale-in)."""
    code = getattr(err.error, "code", None) if err.error else None
    if not code or not is_capacity_error(code):
        return None
    if code == "OperationNotAllowed" and "quota" not in str(getattr(err.error, "message", "") or "").lower():
        return None
    return code


@contextmanager
def arm_errors(what: str) -> Iterator[None]:
    """azure-core exceptions -> our typed errors. Messages name the operation, never a token."""
    try:
        yield
    except HttpResponseError as err:
        status, capacity = err.status_code, capacity_code(err)
        if capacity:
            raise CapacityUnavailable(f"{what}: Azure has no capacity ({capacity})", code=capacity) from err
        if status == 429:
            raise Throttled(f"{what}: ARM throttled", retry_after=_retry_after(err)) from err
        if status in (409, 412):
            raise Conflict(f"{what}: the scale set changed meanwhile ({status})") from err
        if status == 404:
            raise NotFound(f"{what}: not found") from err
        if status == 400:
            raise InvalidInput(f"{what}: ARM refused the request", code="arm_bad_request") from err
        code = "arm_auth" if status in (401, 403) else "arm_unavailable"
        raise Unavailable(f"{what}: ARM answered {status or 'an operation failure'}", code=code,
                          retry_after=_retry_after(err)) from err
    except AzureError as err:
        raise Unavailable(f"{what}: ARM unreachable ({type(err).__name__})", code="arm_unavailable") from err


PARENT_MISSING = frozenset({"ResourceNotFound", "ParentResourceNotFound", "ResourceGroupNotFound"})


def _error_code(err: BaseException | None) -> str:
    error = getattr(err, "error", None)
    return getattr(error, "code", None) or ""


def _power_state(vm: m.VirtualMachineScaleSetVM) -> str:
    statuses = vm.instance_view.statuses if vm.instance_view and vm.instance_view.statuses else []
    codes = [s.code for s in statuses if s.code and s.code.startswith("PowerState/")]
    return codes[0].split("/", 1)[1] if codes else "unknown"


def _instance(vm: m.VirtualMachineScaleSetVM) -> Instance:
    protection = vm.protection_policy
    return Instance(
        instance_id=vm.instance_id or "", name=(vm.os_profile.computer_name if vm.os_profile else vm.name) or "",
        vm_id=vm.vm_id or "", power_state=_power_state(vm), provisioning_state=vm.provisioning_state or "",
        protected=bool(protection and protection.protect_from_scale_in), created_at=vm.time_created)


class AzureScaleSet:
    def __init__(self, settings: Settings, *, credential=None, polling_interval: float = 5.0,
                 lro_wait_s: float = 10.0, retry_budget_s: float = ARM_RETRY_BUDGET_S, name: str | None = None):
        if not settings.subscription_id or not settings.resource_group:
            raise InvalidSettings("AZURE_SUBSCRIPTION_ID and NODEPOOL_RESOURCE_GROUP are needed for the scale set")
        self.name, self._group, self._lro_wait_s = name or settings.scale_set, settings.resource_group, lro_wait_s
        self._client = ComputeManagementClient(
            credential or azure_credential(settings), settings.subscription_id, base_url=settings.arm_endpoint,
            connection_verify=settings.ca_bundle or True, retry_policy=BoundedRetry(retry_budget_s),
            polling_interval=polling_interval, connection_timeout=ARM_CONNECT_S, read_timeout=ARM_READ_S)
        self._sets, self._vms = self._client.virtual_machine_scale_sets, self._client.virtual_machine_scale_set_vms

    def info(self) -> ScaleSetInfo:
        with arm_errors("get scale set"):
            vmss = self._sets.get(self._group, self.name)
        profile = vmss.virtual_machine_profile
        prefix = (profile.os_profile.computer_name_prefix if profile and profile.os_profile else None) or ""
        return ScaleSetInfo(vmss.name or self.name, (vmss.sku.capacity if vmss.sku else 0) or 0, vmss.etag or "",
                            prefix)

    def vm_name(self, instance_id: str) -> str:
        return azure_names.vm_name(self.name, instance_id)

    def claim(self, provider_id: str) -> ProviderClaim:
        return azure_names.claim(self.name, provider_id)

    def instances(self) -> Snapshot[Instance]:
        """Every page or complete=False: a partial list must never look like a small scale set."""
        items: list[Instance] = []
        try:
            with arm_errors("list instances"):
                for vm in self._vms.list(self._group, self.name, expand="instanceView"):
                    items.append(_instance(vm))
        except NodepoolError as err:
            return Snapshot(tuple(items), complete=False, error=f"{err.code}: {err.message}")
        return Snapshot(tuple(items))

    def get_instance(self, instance_id: str) -> Instance | None:
        """One instance, or None when ARM answers 404 for it: the positive evidence that it is gone.
        A 404 about the scale set or its resource group (a wrong setting) is NotFound, never None."""
        try:
            with arm_errors("get instance"):
                return _instance(self._vms.get(self._group, self.name, instance_id, expand="instanceView"))
        except NotFound as err:
            if _error_code(err.__cause__) in PARENT_MISSING:
                raise
            return None

    def set_capacity(self, capacity: int, etag: str) -> None:
        """If-Match `etag` (from info()): a stale one is Conflict. An empty etag writes unconditionally."""
        update = m.VirtualMachineScaleSetUpdate(sku=m.Sku(capacity=capacity))
        condition = MatchConditions.IfNotModified if etag else None
        self._run("set capacity", lambda: self._sets.begin_update(
            self._group, self.name, update, etag=etag or None, match_condition=condition))

    def delete_instances(self, ids: Sequence[str]) -> None:
        if ids:
            body = m.VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=list(ids))
            self._run("delete instances", lambda: self._sets.begin_delete_instances(self._group, self.name, body))

    def reimage_instances(self, ids: Sequence[str]) -> None:
        if ids:
            body = m.VirtualMachineScaleSetReimageParameters(instance_ids=list(ids))
            self._run("reimage instances", lambda: self._sets.begin_reimage(self._group, self.name, body))

    def restart_instances(self, ids: Sequence[str]) -> None:
        self._for_ids("restart", ids)

    def deallocate_instances(self, ids: Sequence[str]) -> None:
        self._for_ids("deallocate", ids)

    def start_instances(self, ids: Sequence[str]) -> None:
        self._for_ids("start", ids)

    def set_protection(self, instance_id: str, protect_from_scale_in: bool) -> None:
        # protectionPolicy is a writable property of the model; its generated __init__ just does not list it.
        body = m.VirtualMachineScaleSetVM(protection_policy=m.VirtualMachineScaleSetVMProtectionPolicy(  # type: ignore[call-overload]
            protect_from_scale_in=protect_from_scale_in))
        self._run("set protection", lambda: self._vms.begin_update(self._group, self.name, instance_id, body))

    def _for_ids(self, action: str, ids: Sequence[str]) -> None:
        if ids:  # an empty list would mean "every instance" to ARM
            body = m.VirtualMachineScaleSetVMInstanceIDs(instance_ids=list(ids))
            begin = getattr(self._sets, f"begin_{action}")
            self._run(f"{action} instances", lambda: begin(self._group, self.name, body))

    def _run(self, what: str, begin) -> None:
        """Start an operation and poll it for a bounded time; failures surface as typed errors."""
        with arm_errors(what):
            poller: LROPoller = begin()
            poller.wait(timeout=self._lro_wait_s)
            if poller.done():
                poller.result()
