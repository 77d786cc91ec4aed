"""The emulator process: moto's server, serving one request at a time (``python -m`` this module).

moto generates ids (vpc-..., subnet-...) from a seeded random stream. Handled concurrently, two
requests can take their ids in an order other than the one the recorder wrote them in, and a
replay would then hand out different ids than the state in the replayed state bucket refers to.
One lock around the application makes the recorded order the order in which ids were handed out,
so a replay (``aws.recording``) reproduces them. Connections are still accepted concurrently.
This module runs only in the emulator process: nothing in the tool imports it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ: Any, start_response: Any) -> Any:
        with lock:
            return list(app(environ, start_response))

    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
