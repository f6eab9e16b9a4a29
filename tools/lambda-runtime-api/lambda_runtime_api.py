#!/usr/bin/env python3
"""A local stand-in for the AWS Lambda Runtime API, for tests and the demo.

It queues events, serves them on GET /2018-06-01/runtime/invocation/next with the headers Lambda
sends, records what the runtime posts back (responses, errors, init errors) and exposes the
record on control endpoints under /_fixture/. See README.md in this folder.
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

API = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:file-monitor"


class State:
    """Every invocation and its outcome; guarded by one condition variable."""

    def __init__(self, deadline_ms):
        self.cond = threading.Condition()
        self.deadline_ms = deadline_ms
        self.queue = []          # request ids waiting for /next
        self.invocations = {}    # request id -> record
        self.order = []          # request ids in the order they were enqueued
        self.raw_payloads = {}   # request id -> the event's bytes, served as sent
        self.init_error = None
        self.stopping = False

    def enqueue(self, payload, deadline_ms=None, trace_id=None):
        with self.cond:
            request_id = str(uuid.uuid4())
            self.invocations[request_id] = {
                "request_id": request_id,
                "payload": _decode(payload),
                "deadline_ms": deadline_ms if deadline_ms is not None else self.deadline_ms,
                "trace_id": trace_id or "Root=1-%08x-%s;Parent=%s;Sampled=0" % (
                    int(time.time()), uuid.uuid4().hex[:24], uuid.uuid4().hex[:16]),
                "status": "queued",
                "response": None,
                "error": None,
                "error_type_header": None,
            }
            self.raw_payloads[request_id] = payload
            self.order.append(request_id)
            self.queue.append(request_id)
            self.cond.notify_all()
            return request_id

    def done(self):
        """True when every enqueued event has an outcome, or init failed."""
        if self.init_error is not None:
            return True
        return all(self.invocations[r]["status"] in ("succeeded", "failed") for r in self.order)

    def snapshot(self):
        return {
            "invocations": [self.invocations[r] for r in self.order],
            "init_error": self.init_error,
            "done": self.done(),
        }


def make_handler(state, results_file):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet unless --verbose
            if self.server.verbose:
                sys.stderr.write("fixture: " + (fmt % args) + "\n")

        def _send(self, status, body=b"", headers=None, content_type="application/json"):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status, obj):
            self._send(status, json.dumps(obj))

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _write_results(self):
            if results_file:
                with open(results_file + ".tmp", "w") as f:
                    json.dump(state.snapshot(), f, indent=1)
                os.replace(results_file + ".tmp", results_file)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == API + "/invocation/next":
                with state.cond:
                    while not state.queue and not state.stopping:
                        state.cond.wait(1.0)
                    if state.stopping:
                        self._json(410, {"errorType": "Fixture.Stopping"})
                        return
                    request_id = state.queue.pop(0)
                    record = state.invocations[request_id]
                    record["status"] = "running"
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": record["trace_id"],
                }
                if record["deadline_ms"] != "none":
                    deadline = int(time.time() * 1000) + int(record["deadline_ms"])
                    headers["Lambda-Runtime-Deadline-Ms"] = str(deadline)
                self._send(200, state.raw_payloads[request_id], headers)
                return
            if url.path == "/_fixture/results":
                query = parse_qs(url.query)
                timeout = float(query.get("timeout", ["0"])[0])
                with state.cond:
                    end = time.time() + timeout
                    while not state.done() and time.time() < end:
                        state.cond.wait(max(0.0, min(1.0, end - time.time())))
                    self._json(200, state.snapshot())
                return
            self._json(404, {"errorType": "NotFound", "errorMessage": self.path})

        def do_POST(self):
            url = urlparse(self.path)
            body = self._body()
            parts = url.path[len(API):].strip("/").split("/") if url.path.startswith(API) else []
            if url.path == "/_fixture/events":
                deadline = self.headers.get("X-Fixture-Deadline-Ms")
                if deadline is not None and deadline != "none":
                    deadline = int(deadline)
                request_id = state.enqueue(body, deadline,
                                           self.headers.get("X-Fixture-Trace-Id"))
                self._json(200, {"request_id": request_id})
                return
            if url.path == "/_fixture/stop":
                with state.cond:
                    state.stopping = True
                    state.cond.notify_all()
                self._json(200, {"stopping": True})
                return
            if parts == ["init", "error"]:
                with state.cond:
                    state.init_error = {
                        "body": _decode(body),
                        "error_type_header": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                    }
                    state.cond.notify_all()
                self._write_results()
                self._json(202, {"status": "OK"})
                return
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                with state.cond:
                    record = state.invocations.get(parts[1])
                    if record is None or record["status"] != "running":
                        self._json(400, {"errorType": "InvalidRequestID",
                                         "errorMessage": "unknown or finished request id"})
                        return
                    if parts[2] == "response":
                        record["status"] = "succeeded"
                        record["response"] = _decode(body)
                    else:
                        record["status"] = "failed"
                        record["error"] = _decode(body)
                        record["error_type_header"] = self.headers.get(
                            "Lambda-Runtime-Function-Error-Type")
                    state.cond.notify_all()
                self._write_results()
                self._json(202, {"status": "OK"})
                return
            self._json(404, {"errorType": "NotFound", "errorMessage": self.path})

    return Handler


def _decode(body):
    """A JSON body as JSON, anything else as text."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port actually bound here")
    parser.add_argument("--events", help="JSON file: an array of events to queue at start")
    parser.add_argument("--deadline-ms", type=int, default=300000,
                        help="each invocation's deadline, relative to when /next serves it")
    parser.add_argument("--results", help="write the results (JSON) here after each outcome")
    parser.add_argument("--exit-when-done", action="store_true",
                        help="exit once every queued event has an outcome or init failed; "
                             "exit status 0 only if every invocation succeeded")
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="with --exit-when-done: give up after this many seconds and exit "
                             "124 (0: wait for ever)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    state = State(args.deadline_ms)
    if args.events:
        with open(args.events) as f:
            for event in json.load(f):
                state.enqueue(json.dumps(event).encode())

    server = ThreadingHTTPServer((args.host, args.port), make_handler(state, args.results))
    server.daemon_threads = True
    server.verbose = args.verbose
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    print("lambda-runtime-api listening on %s:%d" % (args.host, port), flush=True)

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if args.exit_when_done:
            give_up = time.time() + args.max_seconds if args.max_seconds > 0 else None
            with state.cond:
                while not state.done():
                    if give_up is not None and time.time() >= give_up:
                        print(json.dumps(state.snapshot()), flush=True)
                        return 124
                    state.cond.wait(1.0)
                snapshot = state.snapshot()
            # Let the runtime's last POST complete before the listener goes away.
            time.sleep(0.2)
            print(json.dumps(snapshot), flush=True)
            ok = snapshot["init_error"] is None and all(
                i["status"] == "succeeded" for i in snapshot["invocations"])
            return 0 if ok else 2
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        with state.cond:
            state.stopping = True
            state.cond.notify_all()
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
