"""Threaded HTTP server that runs the provider's Django application on 127.0.0.1."""

import logging
import os
import signal
import threading
from urllib.parse import urlsplit

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

logger = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
SHUTDOWN_JOIN_SECONDS = 5.0
PARENT_CHECK_SECONDS = 1.0
# How often serve_forever() checks for a shutdown request, so SIGTERM takes effect this fast.
SHUTDOWN_POLL_SECONDS = 0.1


class ListenError(RuntimeError):
    """The server could not bind its port, for example because the port is in use."""


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Django's request handler with access logs that leave out query strings.

    Query strings can carry OAuth state, PKCE challenges or a misplaced access token.
    """

    def log_request(self, code="-", size="-"):
        # wsgiref passes the status as a string such as "200", http.server as an HTTPStatus.
        status = str(getattr(code, "value", code))
        path = urlsplit(self.path).path
        if status.startswith("5"):
            log = logger.error
        elif status.startswith("4"):
            log = logger.warning
        else:
            log = logger.info
        log('"%s %s" %s', self.command, path, status)

    def log_message(self, format, *args):
        logger.warning(format, *args)


def serve(port: int, *, exit_with_parent: bool = False) -> None:
    """Serve the configured Django application on 127.0.0.1 until SIGTERM or SIGINT.

    ``port`` 0 lets the OS choose a free port. Once the socket listens, the line
    ``ready http://127.0.0.1:PORT`` goes to stdout with the port in use. With
    ``exit_with_parent``, the server also stops when its parent process exits, so
    a crashed test run leaves no server behind. Raises ``ListenError`` if the port
    cannot be bound.
    """
    application = get_wsgi_application()
    try:
        server = ThreadedWSGIServer((LISTEN_HOST, port), PathOnlyRequestHandler)
    except OSError as error:
        raise ListenError(f"cannot listen on {LISTEN_HOST}:{port}: {error.strerror}") from error
    server.set_app(application)
    bound_port = server.server_address[1]

    stop_requested = threading.Event()
    _stop_on_signals(stop_requested)

    server_thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name="provider-http",
        daemon=True,
    )
    server_thread.start()
    base_url = f"http://{LISTEN_HOST}:{bound_port}"
    logger.info("Provider listening on %s", base_url)
    print(f"ready {base_url}", flush=True)

    _wait_for_stop(stop_requested, exit_with_parent)

    logger.info("Provider on %s shutting down", base_url)
    server.shutdown()
    server.server_close()
    server_thread.join(timeout=SHUTDOWN_JOIN_SECONDS)
    logger.info("Provider on %s stopped", base_url)


def _stop_on_signals(stop_requested: threading.Event) -> None:
    def request_stop(signal_number, frame):
        logger.info("Received %s", signal.Signals(signal_number).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _wait_for_stop(stop_requested: threading.Event, exit_with_parent: bool) -> None:
    if not exit_with_parent:
        stop_requested.wait()
        return

    parent_pid = os.getppid()
    while not stop_requested.wait(timeout=PARENT_CHECK_SECONDS):
        # A process whose parent exits is re-parented, so its parent PID changes.
        if os.getppid() != parent_pid:
            logger.warning("Parent process %s exited", parent_pid)
            return
