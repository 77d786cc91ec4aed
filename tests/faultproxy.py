"""A loopback HTTP proxy in front of the moto server that fails a share of requests on purpose.

Every ``fail_every``-th AWS request (counted across all clients; ``/moto-api/`` is never failed)
is answered the way a busy AWS answers, by protocol:

- JSON-protocol services (an ``X-Amz-Target`` header: DynamoDB, SSM, Secrets Manager, ...):
  HTTP 400 with a ``ThrottlingException`` body;
- S3: HTTP 503 ``SlowDown``;
- EC2: HTTP 503 ``RequestLimitExceeded`` (EC2's throttling code, in EC2's error shape);
- other query/XML services (IAM, STS, SNS, ...): HTTP 503 ``ServiceUnavailable``.

``fail_only`` narrows the failures to requests whose operation (``X-Amz-Target`` or the query
``Action``, e.g. "PutParameter") matches, ``fail_every=1`` fails every one of them and
``fail_first=N`` fails only the first N of them. The rest
is forwarded to moto unchanged. Every request is recorded (``Seen``) with the SDK's
``amz-sdk-request: attempt=N`` header, so a test can see who retried what.

Bounded and self-stopping: it serves on a daemon thread, stops after ``max_requests`` requests or
``lifetime`` seconds, and ``stop()`` (or leaving the ``with`` block) shuts it down.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect", "content-length"}
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_ATTEMPT = re.compile(r"attempt=(\d+)")


@dataclass(frozen=True)
class Seen:
    n: int
    method: str
    service: str
    operation: str
    client: str          # boto3 | terraform-backend (aws-sdk-go-v2) | terraform-provider (aws-sdk-go)
    attempt: int | None  # from amz-sdk-request, when the SDK sends it
    injected: int | None  # status answered by the proxy, None when forwarded


def _client(user_agent: str) -> str:
    if "Boto3" in user_agent or "Botocore" in user_agent:
        return "boto3"
    if "aws-sdk-go-v2" in user_agent:
        return "terraform-backend"
    if "aws-sdk-go" in user_agent:
        return "terraform-provider"
    return "other"


def _operation(method: str, path: str, target: str, body: bytes) -> str:
    """X-Amz-Target's operation, else the query Action, else "METHOD /path" (S3)."""
    if target:
        return target.rsplit(".", 1)[-1]
    url = urllib.parse.urlsplit(path)
    form = body.decode("latin-1") if b"Action=" in body[:200] else ""
    action = urllib.parse.parse_qs(f"{url.query}&{form}").get("Action")
    return action[0] if action else f"{method} {url.path}"


def _fault(service: str, json_protocol: bool) -> tuple[int, str, bytes]:
    if json_protocol:
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded (injected by faultproxy)"}'
        return 400, "application/x-amz-json-1.0", body
    if service == "s3":
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message>"
                b"<RequestId>faultproxy</RequestId></Error>")
        return 503, "application/xml", body
    if service == "ec2":  # EC2's own error shape; its throttling code
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
                b"</Errors><RequestID>faultproxy</RequestID></Response>")
        return 503, "text/xml", body
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Receiver</Type>'
            b"<Code>ServiceUnavailable</Code><Message>Service is unavailable (injected by faultproxy)"
            b"</Message></Error><RequestId>faultproxy</RequestId></ErrorResponse>")
    return 503, "text/xml", body


class FaultProxy:
    def __init__(self, upstream: str, *, fail_every: int = 3, fail_only: str | None = None,
                 fail_first: int | None = None,
                 max_requests: int = 20000, lifetime: float = 900.0) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.fail_every = fail_every
        self.fail_only = re.compile(fail_only) if fail_only else None
        self.fail_first = fail_first
        self.max_requests = max_requests
        self.lifetime = lifetime
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._n = 0      # requests seen
        self._count = 0  # requests eligible for a fault
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _decide(self, operation: str) -> tuple[int, bool]:
        """(request number, fail it?)"""
        with self._lock:
            self._n += 1
            n = self._n
            if n > self.max_requests:
                threading.Thread(target=self.stop, daemon=True).start()
            eligible = self.fail_only is None or bool(self.fail_only.search(operation))
            if not eligible:
                return n, False
            self._count += 1
            if self.fail_first is not None:
                return n, self._count <= self.fail_first
            return n, self._count % self.fail_every == 0

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                target = self.headers.get("X-Amz-Target", "")
                cred = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                service = cred.group(1) if cred else ("moto-api" if "/moto-api" in self.path else "?")
                operation = _operation(self.command, self.path, target, body)
                attempt = _ATTEMPT.search(self.headers.get("amz-sdk-request", ""))
                who = _client(self.headers.get("User-Agent", ""))
                n, fail = (0, False) if service == "moto-api" else proxy._decide(operation)
                if fail:
                    status, ctype, fault = _fault(service, bool(target))
                    proxy._record(Seen(n, self.command, service, operation, who,
                                       int(attempt.group(1)) if attempt else None, status))
                    self._send(status, [("Content-Type", ctype), ("x-amzn-RequestId", "faultproxy")], fault)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self._send(resp.status, resp.getheaders(), data)
                finally:
                    conn.close()
                if service != "moto-api":
                    proxy._record(Seen(n, self.command, service, operation, who,
                                       int(attempt.group(1)) if attempt else None, None))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        return Handler

    # --------------------------------------------------------------- summaries for assertions

    def injected(self, client: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.injected and (client is None or s.client == client)]

    def forwarded(self, client: str | None = None) -> list[Seen]:
        return [s for s in self.seen if not s.injected and (client is None or s.client == client)]

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for s in self.seen:
            row = out.setdefault(s.client, {"requests": 0, "injected": 0, "retries": 0})
            row["requests"] += 1
            row["injected"] += bool(s.injected)
            row["retries"] += bool(s.attempt and s.attempt > 1)
        return out


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
