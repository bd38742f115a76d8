"""A custom runtime on urllib.request, which opens a new connection for
every call of the Runtime API (it sends Connection: close)."""

import os
import sys
import urllib.error
import urllib.request

import handler

base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
# The Runtime API is local: never through a proxy from the environment.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

while True:
    with opener.open(base + "next") as resp:
        request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        event = resp.read()
    kind, body = handler.handle(event, "python-urllib")
    headers = {"Content-Type": "application/json"}
    if kind == "error":
        headers["Lambda-Runtime-Function-Error-Type"] = handler.ERROR_TYPE
    req = urllib.request.Request(base + request_id + "/" + kind, data=body, headers=headers, method="POST")
    try:
        with opener.open(req) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        # Lambda's runtimes log a refused result and go on to the next event.
        print("runtime: /%s refused: %d %s" % (kind, e.code, e.read().decode(errors="replace")), file=sys.stderr)
