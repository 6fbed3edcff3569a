"""The reconcile timer through the dev host: function_app.py indexed, NODEPOOL_RECONCILE_SCHEDULE
honoured, the tick run by the host against the simulator and Azurite.

The dev host has no admin endpoint to fire a non-HTTP function, so the schedule is set to every
second and the tests wait for what a tick does.
"""
from localenv.waiting import wait_for
from tests.functions.reconcile_stack import ReconcileStack

EVERY_SECOND = "* * * * * *"
KUBE = {"grace_s": 0.2, "tick_s": 0.02, "scrypt_log_n": 10}


def test_the_timer_removes_the_ghost_of_a_killed_vm(make_sim, storage_env, devhost):
    pool = ReconcileStack(make_sim(agents=3, page_size=2, kube_options=KUBE), storage_env)
    pool.join_all()
    host = devhost(env={**pool.env, "NODEPOOL_RECONCILE_SCHEDULE": EVERY_SECOND})
    assert "reconcile: timerTrigger (schedule * * * * * *, UTC)" in host.logs()
    wait_for(lambda: "reconcile tick: planned nothing" in host.logs(), what="a converged tick")
    ghost = pool.sim.vms[0].computer_name
    pool.sim.terminate(ghost)
    wait_for(lambda: pool.node(ghost) is None, what="the ghost Node deleted")
    # the tick logs an action once it returned, a moment after the Node is gone
    wait_for(lambda: "reconcile delete_node " + ghost in host.logs(), what="the tick's log line")


def test_dry_run_through_the_timer_only_logs(make_sim, storage_env, devhost):
    pool = ReconcileStack(make_sim(agents=3, page_size=2, kube_options=KUBE), storage_env)
    pool.join_all()
    ghost = pool.sim.vms[0].computer_name
    pool.sim.terminate(ghost)
    wait_for(lambda: pool.ready(ghost) == "Unknown", what="the ghost NotReady")
    host = devhost(env={**pool.env, "NODEPOOL_RECONCILE_SCHEDULE": EVERY_SECOND, "NODEPOOL_DRY_RUN": "true"})
    wait_for(lambda: host.logs().count("reconcile tick (dry run)") >= 2, what="two dry ticks")
    assert "reconcile would delete_node " + ghost in host.logs()
    assert pool.node(ghost) is not None
    assert not [key for key in pool.storage_versions() if key[0] == "reconcile"]  # not even the state
