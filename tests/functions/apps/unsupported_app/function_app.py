"""A function with a binding the dev host does not support (a queue output): start-up must fail."""
import azure.functions as func

app = func.FunctionApp()


@app.route(route="fine", auth_level=func.AuthLevel.ANONYMOUS)
def fine(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")


@app.route(route="forward", auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="outbox", queue_name="outbox", connection="AzureWebJobsStorage")
def forward_to_queue(req: func.HttpRequest, outbox: func.Out[str]) -> func.HttpResponse:
    outbox.set(req.get_body().decode())
    return func.HttpResponse("queued")
