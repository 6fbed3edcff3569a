"""The Function App: registers the blueprints in functions/. Nothing else lives here."""
import azure.functions as func

from functions import (
    http_events,
    http_health,
    http_join,
    http_nodes,
    http_status,
    queue_node_events,
    timer_autoscale,
    timer_reconcile,
    timer_tokens,
)
from nodepool.settings import Settings

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (http_health.bp, http_join.bp, http_nodes.bp, http_status.bp, http_events.bp, queue_node_events.bp,
                  timer_tokens.bp, timer_reconcile.bp):
    app.register_functions(blueprint)
if Settings.one("autoscale_enabled"):  # off: the seed's CPU autoscale setting (or nothing) scales the agents
    app.register_functions(timer_autoscale.bp)
