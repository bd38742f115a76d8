"""A custom Lambda runtime in Python, for the proxy's tests.

Arguments come on the command line or in RUNTIME_PY_ARGS.

It loops on /next and answers each event as the event asks, with urllib (a
new connection per call, as the AWS tutorial's runtimes do) or http.client
(one kept connection). Each answer it gets from the Runtime API is printed
on stderr as "runtime-got CALL STATUS BODY".

Events (JSON objects; anything else is echoed back as the response):
  {"size": N}                          a response of N bytes
  {"absolute": true, ...}              calls in absolute-form
  {"error": "Type"}                    posts to /error
  {"trailer_error": "Type", "streaming": bool}
                                       a chunked response with error trailers
"""

import argparse
import base64
import http.client
import json
import os
import shlex
import socket
import sys
import threading
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=["urllib", "http.client"], default="http.client")
    ap.add_argument("--address", default=os.environ.get("AWS_LAMBDA_RUNTIME_API"))
    ap.add_argument("--count", type=int, default=0, help="events per worker; 0 for ever")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--restore", action="store_true", help="call /runtime/restore/next first")
    ap.add_argument("--restore-error", help="then post this error type to /runtime/restore/error")
    # Under the emulator, arguments come in the environment: its command
    # line takes them for its own.
    args = ap.parse_args(sys.argv[1:] + shlex.split(os.environ.get("RUNTIME_PY_ARGS", "")))

    if args.restore:
        rt = Runtime(args.address, args.client, False)
        rt.call("restore-next", "GET", "/2018-06-01/runtime/restore/next")
        if args.restore_error:
            rt.call("restore-error", "POST", "/2018-06-01/runtime/restore/error",
                    json.dumps({"errorType": args.restore_error, "errorMessage": "restore failed"}).encode(),
                    {"Lambda-Runtime-Function-Error-Type": args.restore_error})

    failures = []
    workers = [threading.Thread(target=work, args=(args, failures)) for _ in range(args.workers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        sys.exit("runtime failed: %s" % failures[0])
    print("runtime done", file=sys.stderr)


def work(args, failures):
    try:
        rt = Runtime(args.address, args.client, False)
        n = 0
        while args.count == 0 or n < args.count:
            n += 1
            status, headers, event = rt.call("next", "GET", "/2018-06-01/runtime/invocation/next")
            if status != 200:
                raise RuntimeError("next: %d %r" % (status, event))
            handle(rt, headers["Lambda-Runtime-Aws-Request-Id"], event)
    except Exception as e:  # the test reads the reason
        failures.append(repr(e))


def handle(rt, rid, event):
    try:
        ev = json.loads(event)
    except ValueError:
        ev = None
    if not isinstance(ev, dict):
        ev = {}
    rt.absolute = bool(ev.get("absolute"))
    base = "/2018-06-01/runtime/invocation/" + rid
    if "error" in ev:
        body = json.dumps({"errorType": ev["error"], "errorMessage": "failed"}).encode()
        rt.call("error", "POST", base + "/error", body, {"Lambda-Runtime-Function-Error-Type": ev["error"]})
    elif "trailer_error" in ev:
        rt.chunked_with_trailers(base + "/response", b"partial", ev["trailer_error"], ev.get("streaming", False))
    elif "size" in ev:
        rt.call("response", "POST", base + "/response", b'"' + b"x" * (ev["size"] - 2) + b'"')
    else:
        rt.call("response", "POST", base + "/response", event)


class Runtime:
    def __init__(self, address, client, absolute):
        self.address, self.client, self.absolute = address, client, absolute
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.conn = None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def target(self, path):
        return ("http://" + self.address + path) if self.absolute else path

    def call(self, name, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.client == "urllib":
            req = urllib.request.Request("http://" + self.address + path, data=body, method=method, headers=headers)
            try:
                with self.opener.open(req) as r:
                    status, hdrs, data = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                status, hdrs, data = e.code, e.headers, e.read()
        else:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            self.conn.request(method, self.target(path), body=body, headers=headers)
            r = self.conn.getresponse()
            status, hdrs, data = r.status, r.headers, r.read()
            if r.will_close:
                self.conn.close()
                self.conn = None
        if name != "next":
            print("runtime-got %s %d %s" % (name, status, data.decode(errors="replace")), file=sys.stderr, flush=True)
        return status, hdrs, data

    def chunked_with_trailers(self, path, data, error_type, streaming):
        """A chunked response whose trailers say it failed, on its own
        connection: neither urllib nor http.client sends trailers."""
        error_body = base64.b64encode(json.dumps({"errorType": error_type, "errorMessage": "broke midway"}).encode())
        head = "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n" % (self.target(path), self.address)
        if streaming:
            head += "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        head += "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
        msg = head.encode() + b"%x\r\n%s\r\n0\r\n" % (len(data), data)
        msg += b"Lambda-Runtime-Function-Error-Type: " + error_type.encode() + b"\r\n"
        msg += b"Lambda-Runtime-Function-Error-Body: " + error_body + b"\r\n\r\n"
        with socket.create_connection((self.host, self.port)) as s:
            s.sendall(msg)
            r = http.client.HTTPResponse(s)
            r.begin()
            print("runtime-got response %d %s" % (r.status, r.read().decode(errors="replace")), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
