"""The Function App: registers the blueprints in functions/. Nothing else lives here."""
import azure.functions as func

from functions import http_health

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (http_health.bp,):
    app.register_functions(blueprint)
