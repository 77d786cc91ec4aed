"""The emulator process: moto's server, serving one request at a time (``python -m`` this module).

moto generates ids (vpc-..., subnet-...) from a seeded random stream. Handled concurrently, two
requests can take their ids in an order other than the one the recorder wrote them in, and a
replay would then hand out different ids than the state in the replayed state bucket refers to.
One lock around the application makes the recorded order the order in which ids were handed out,
so a replay (``aws.recording``) reproduces them. Connections are still accepted concurrently.

The recording is written here, not by moto's recorder (which writes a request down *before* it is
handled): a request is appended to the recording only after its response has been handed to the
socket, still under the lock, in one ``write``. A SIGKILL therefore leaves a recording that holds
every request whose answer a client could have seen, in order, and at most the one request being
answered at the kill missing (its effect dies with the process; the client saw no answer, or saw
one and finds the resource gone on its next refresh, which Terraform recreates). Before, the
request in flight at the kill was recorded but never answered: the replayed emulator held a
resource Terraform's state did not, which the re-run then created a second time. A request whose
client went away before the answer is still recorded: the live emulator did it, and every id
handed out after it depends on it.

This module runs only in the emulator process: nothing in the tool imports it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

CONTROL = "/moto-api/recorder/"
NO_BODY = {204, 304}


class Recorder:
    """Appends answered requests to ``path`` (one JSON line each, moto's recording format plus
    ``status`` and ``answered``) once ``/moto-api/recorder/start-recording`` turned it on."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.on = False

    def wanted(self, environ: dict[str, Any]) -> bool:
        path = str(environ.get("PATH_INFO", ""))
        return self.on and (not path.startswith("/moto-api/") or path.startswith("/moto-api/seed"))

    def append(self, entry: dict[str, Any]) -> None:
        data = (json.dumps(entry) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            while data:  # one write in practice; a short write (disk full, a fatal signal) is continued
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body; ``wsgi.input`` is replaced by a copy the application reads again."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked: werkzeug de-chunks to EOF
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def entry_of(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    from moto.core.request import Request

    request = Request(environ)
    return {"headers": dict(request.headers), "method": request.method, "url": request.raw_url,
            "body": base64.b64encode(body).decode("ascii"), "body_encoded": True}


class Answer:
    """The response, handed to werkzeug chunk by chunk; ``done(answered)`` runs once, right after
    the last chunk was written to the socket (``answered`` True) or when werkzeug gave up on the
    connection (``close`` before that: False)."""

    def __init__(self, chunks: list[bytes], done: Callable[[bool], None]) -> None:
        self.chunks = chunks or [b""]  # werkzeug sends the headers with the first write
        self._done: Callable[[bool], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        self._finish(True)

    def close(self) -> None:
        self._finish(False)

    def _finish(self, answered: bool) -> None:
        done, self._done = self._done, None
        if done is not None:
            done(answered)


def recording_app(app: Any, recorder: Recorder) -> Callable[[dict[str, Any], Any], Any]:
    """``app`` one request at a time, each recorded after its answer was sent (see the module)."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if path in (f"{CONTROL}start-recording", f"{CONTROL}stop-recording"):
            recorder.on = path.endswith("start-recording")
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        lock.acquire()
        try:
            body = read_body(environ)
            entry = entry_of(environ, body) if recorder.wanted(environ) else None
            seen: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                seen.update(status=status, headers=list(headers))
                return lambda _data: None  # moto's Flask app returns its body; nothing writes here
            chunks = [bytes(c) for c in app(environ, capture)]
            status, headers = seen["status"], seen["headers"]
            code = int(status.split(None, 1)[0])
            if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers) \
                    and code not in NO_BODY and code >= 200 and environ.get("REQUEST_METHOD") != "HEAD":
                headers.append(("Content-Length", str(sum(len(c) for c in chunks))))  # no chunked end
            start_response(status, headers)
        except BaseException:
            lock.release()
            raise

        def done(answered: bool) -> None:
            try:
                if entry is not None:
                    recorder.append({**entry, "status": code, "answered": answered})
            finally:
                lock.release()
        return Answer(chunks, done)

    return serve


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    os.environ.pop("MOTO_ENABLE_RECORDING", None)  # moto's recorder stays off: ``Recorder`` records
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    recorder = Recorder(os.environ.get("MOTO_RECORDER_FILEPATH", "moto_recording"))
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
    run_simple(host, port, recording_app(app, recorder), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
