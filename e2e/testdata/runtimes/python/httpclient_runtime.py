"""A custom runtime on http.client, which keeps one connection to the
Runtime API for every call. With RUNTIME_ABSOLUTE_FORM=1 its request
targets are in absolute form (POST http://HOST:PORT/2018-06-01/... HTTP/1.1),
which HTTP/1.1 allows."""

import http.client
import os
import sys

import handler

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
prefix = "http://" + api if os.environ.get("RUNTIME_ABSOLUTE_FORM") == "1" else ""
runtime = "python-http.client" + (" absolute-form" if prefix else "")
conn = http.client.HTTPConnection(api)


def call(method, path, body=None, headers=None):
    conn.request(method, prefix + "/2018-06-01/runtime/invocation/" + path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp, resp.read()


while True:
    resp, event = call("GET", "next")
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    kind, body = handler.handle(event, runtime)
    headers = {"Content-Type": "application/json"}
    if kind == "error":
        headers["Lambda-Runtime-Function-Error-Type"] = handler.ERROR_TYPE
    resp, answer = call("POST", request_id + "/" + kind, body, headers)
    if resp.status != 202:
        # Lambda's runtimes log a refused result and go on to the next event.
        print("runtime: /%s refused: %d %s" % (kind, resp.status, answer.decode(errors="replace")), file=sys.stderr)
