"""Scheduled events: preemption, reboots, freezes and terminate notifications, as IMDS shows them."""
import email.utils
import time

import requests

from sim.hooks import RecordingHooks

M = {"Metadata": "true"}
V = {"api-version": "2020-07-01"}


def document(sim, which) -> dict:
    return requests.get(f"{sim.imds_for(which)}/metadata/scheduledevents", headers=M, params=V, timeout=5).json()


def acknowledge(sim, which, event_id) -> int:
    body = {"StartRequests": [{"EventId": event_id}]}
    return requests.post(f"{sim.imds_for(which)}/metadata/scheduledevents", headers=M, params=V, json=body,
                         timeout=5).status_code


def test_a_preempt_event_is_announced_to_the_whole_scale_set(sim):
    before = document(sim, 0)["DocumentIncarnation"]
    sim.preempt(1, notice=30)
    doc = document(sim, 0)
    assert doc["DocumentIncarnation"] > before
    [event] = doc["Events"]
    assert (event["EventType"], event["Resources"], event["EventStatus"]) == ("Preempt", ["agents_1"], "Scheduled")
    assert (event["ResourceType"], event["EventSource"]) == ("VirtualMachine", "Platform")
    assert event["DurationInSeconds"] == -1
    not_before = email.utils.parsedate_to_datetime(event["NotBefore"]).timestamp()
    assert 25 < not_before - time.time() <= 31
    assert document(sim, 1)["Events"] == doc["Events"]
    assert document(sim, "master0")["Events"] == []


def test_a_preempted_vm_disappears_at_not_before(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(hooks=hooks, kube=False)
    sim.preempt(1, notice=0.3)
    assert sim.vm(1).provisioning == "Succeeded"
    sim.wait_until(lambda: "1" not in sim.world.vms)
    assert hooks.calls[-2:] == [("stopped", "agents000001"), ("deleted", "agents000001")]
    assert document(sim, 0)["Events"] == [] and sim.world.capacity == 2


def test_acknowledging_a_preemption_lets_it_happen_at_once(sim):
    event = sim.preempt(2, notice=60)
    assert acknowledge(sim, 2, event.event_id) == 200
    assert "2" not in sim.world.vms


def test_a_reboot_restarts_the_vm_and_then_leaves_the_document(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(hooks=hooks, kube=False, boot_seconds=0.2)
    event = sim.reboot(0, notice=60)
    acknowledge(sim, "agents000000", event.event_id)
    [started] = document(sim, 1)["Events"]
    assert (started["EventStatus"], started["NotBefore"]) == ("Started", "")
    assert sim.vm(0).power == "starting"
    sim.wait_until(lambda: sim.vm(0).power == "running")
    assert document(sim, 0)["Events"] == []
    assert hooks.calls[-2:] == [("stopped", "agents000000"), ("started", "agents000000")]


def test_a_reboot_takes_the_restart_time_not_a_new_vms_boot(make_sim):
    sim = make_sim(kube=False, boot_seconds=30, restart_seconds=0.2)
    vm_id, event = sim.vm(0).vm_id, sim.reboot(0, notice=60)
    assert document(sim, 0)["Events"][0]["DurationInSeconds"] == 1
    acknowledge(sim, 0, event.event_id)
    sim.wait_until(lambda: sim.vm(0).power == "running")  # far sooner than the 30-s boot
    assert sim.vm(0).vm_id == vm_id  # the same VM, restarted


def test_a_freeze_passes_and_the_vm_keeps_running(sim):
    sim.world.freeze(0, notice_s=0, duration_s=0)
    sim.wait_until(lambda: document(sim, 0)["Events"] == [])
    assert sim.vm(0).power == "running"


def test_terminate_without_notice_has_no_event(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(hooks=hooks, kube=False)
    sim.terminate("agents000001")
    assert "1" not in sim.world.vms and hooks.calls[-1] == ("deleted", "agents000001")


def test_deletes_with_terminate_notification_wait_for_the_event(make_sim):
    sim = make_sim(terminate_notice=60, kube=False)
    sim.world.act("delete", ["1"])
    [event] = document(sim, 1)["Events"]
    assert (event["EventType"], event["EventSource"], event["Resources"]) == ("Terminate", "User", ["agents_1"])
    assert sim.vm(1).provisioning == "Deleting" and sim.world.capacity == 2
    acknowledge(sim, 1, event["EventId"])
    assert "1" not in sim.world.vms


def test_bad_start_requests_are_refused(sim):
    response = requests.post(f"{sim.imds_for(0)}/metadata/scheduledevents", headers=M, params=V,
                             json={"StartRequests": "all"}, timeout=5)
    assert response.status_code == 400


def test_partitioned_vms_run_for_azure_but_their_kubelet_is_silent(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(hooks=hooks, kube=False)
    sim.partition(0)
    sim.partition(0, on=False)
    assert sim.vm(0).power == "running"
    assert hooks.calls[-2:] == [("stopped", "agents000000"), ("started", "agents000000")]


# The scheduled-events documentation (MicrosoftDocs/azure-compute-docs, articles/virtual-machines/linux/
# scheduled-events.md, "Example responses") shows host maintenance as one Freeze whose Resources name two
# VMs, moving Scheduled -> Started (NotBefore blank) -> gone, each change a higher DocumentIncarnation,
# with exactly these fields; "in rare cases, the operation is canceled by Azure before it starts. In that
# case the event is removed from the Events array". The simulator's documents are checked against that.
DOCUMENTED_FIELDS = {"EventId", "EventStatus", "EventType", "ResourceType", "Resources", "NotBefore",
                     "Description", "EventSource", "DurationInSeconds"}


def test_host_maintenance_names_several_vms_in_one_event_as_the_documented_sample_does(make_sim):
    sim = make_sim(kube=False)
    first = document(sim, 0)["DocumentIncarnation"]
    event = sim.world.freeze(["agents_0", "agents_1"], notice_s=60, duration_s=5)
    doc = document(sim, 2)  # the whole placement group sees it, VMs it does not name included
    [listed] = doc["Events"]
    assert set(listed) == DOCUMENTED_FIELDS and doc["DocumentIncarnation"] > first
    assert (listed["EventType"], listed["Resources"], listed["EventStatus"]) == (
        "Freeze", ["agents_0", "agents_1"], "Scheduled")
    assert isinstance(listed["DurationInSeconds"], int) and listed["ResourceType"] == "VirtualMachine"
    assert acknowledge(sim, 1, event.event_id) == 200  # one VM's approval lets it proceed for both
    [started] = document(sim, 0)["Events"]
    assert (started["EventStatus"], started["NotBefore"], started["Resources"]) == ("Started", "",
                                                                                   ["agents_0", "agents_1"])
    assert document(sim, 0)["DocumentIncarnation"] > doc["DocumentIncarnation"]


def test_acknowledging_a_reboot_of_two_vms_restarts_both(make_sim):
    sim = make_sim(kube=False, restart_seconds=60)
    event = sim.world.reboot(["agents000000", "agents000002"], notice_s=60)
    acknowledge(sim, 0, event.event_id)
    assert (sim.vm(0).power, sim.vm(1).power, sim.vm(2).power) == ("starting", "running", "starting")


def test_a_withdrawn_event_leaves_the_document_and_its_vm_stays(make_sim):
    sim = make_sim(kube=False)
    event = sim.preempt(1, notice=0.5)
    before = document(sim, 1)["DocumentIncarnation"]
    assert sim.withdraw(event)
    doc = document(sim, 1)
    assert doc["Events"] == [] and doc["DocumentIncarnation"] > before
    time.sleep(0.7)  # past what was its NotBefore
    assert sim.vm(1).provisioning == "Succeeded" and sim.vm(1).power == "running"
    assert acknowledge(sim, 1, event.event_id) == 200  # IMDS takes a StartRequest for it; nothing happens
    assert "1" in sim.world.vms


def test_a_started_event_cannot_be_withdrawn(make_sim):
    sim = make_sim(kube=False, restart_seconds=60)
    event = sim.reboot(0, notice=60)
    acknowledge(sim, 0, event.event_id)
    assert not sim.withdraw(event)
    assert requests.delete(f"{sim.control_url}/sim/events/{event.event_id}", timeout=5).status_code == 409
