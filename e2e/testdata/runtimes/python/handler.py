"""The function of the Python runtimes: its behaviour is chosen by the event,
as the Go sample function's is. {"Success": false} fails, {"Timeout": true}
sleeps past the deadline, {"Crash": true} ends the process, {"ResponseBytes":
N} answers a JSON string of N bytes, anything else succeeds."""

import json
import os
import time

ERROR_TYPE = "HandlerError"


def handle(event, runtime):
    """Returns ("response", body) or ("error", body), or does not return."""
    try:
        ev = json.loads(event)
    except ValueError:
        ev = None
    if not isinstance(ev, dict):
        ev = {}
    if ev.get("Crash"):
        os._exit(3)
    if ev.get("Timeout"):
        time.sleep(60)
    if ev.get("Success") is False:
        body = {"errorMessage": "the event asked for a failure", "errorType": ERROR_TYPE}
        return "error", json.dumps(body).encode()
    size = ev.get("ResponseBytes")
    if isinstance(size, int) and size >= 2:
        return "response", b'"' + b"x" * (size - 2) + b'"'
    return "response", json.dumps({"ok": True, "runtime": runtime}).encode()
