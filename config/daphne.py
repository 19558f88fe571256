"""Daphne, the ASGI server of `make run`, the Procfile and the containers, with its access log sent
through our logging (`daphne.access`), where the card-number mask and the JSON format apply, and an
answer for a request whose head is too large.

Daphne writes its access log straight to a stream (stdout by default), so a card number typed into a
URL or query string would be printed as it came. Run it as `python -m config.daphne <daphne args>`.

Daphne parses HTTP/1.1 with Twisted's `HTTPChannel`: at most `HEAD_LIMIT` (16 KiB) for the request line and
every header together, and for any one line (`LineReceiver.MAX_LENGTH`). Past the total, Twisted answers a bare
400; a single line past it (a 64 KB cookie or header) made Twisted drop the connection without a word. Both are
now answered 431 (a header) or 414 (the request line) before Django sees the request, with the error body of its
door (`config.errors.refusal`: a JSON-RPC error on /mcp, the API's error envelope elsewhere).
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import daphne.server
from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.web import http

access_logger = logging.getLogger("daphne.access")
logger = logging.getLogger("config.daphne")

HEAD_LIMIT = http.HTTPChannel.totalHeadersSize
assert HEAD_LIMIT == http.HTTPChannel.MAX_LENGTH == 16384, "the limits documented above and in docs/SECURITY.md"

_REFUSALS = {
    431: (b"Request Header Fields Too Large", "request_headers_too_large",
          f"The request's headers exceed {HEAD_LIMIT} bytes."),
    414: (b"URI Too Long", "request_line_too_long", f"The request line exceeds {HEAD_LIMIT} bytes."),
}


class HeadLimitedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel, answering a request whose head is over the limit instead of dropping it."""

    def lineLengthExceeded(self, line: bytes) -> None:
        # LineReceiver's own answer is to close the connection.
        if self._receivedHeaderSize == 0:
            # No line of this request yet: it is the request line, cut short (its path is what matters here).
            method_and_target = line.split(b" ", 2)
            self._refuse(414, method_and_target[1] if len(method_and_target) > 1 else b"")
        else:
            self._refuse(431, self._path)

    def lineReceived(self, line: bytes) -> None:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(431, self._path)  # Twisted would answer a bare 400
            return
        super().lineReceived(line)

    def _refuse(self, status: int, target: bytes) -> None:
        # Imported here: config.errors needs Django, set up when Daphne imported the application, before serving.
        from config.errors import refusal

        reason, code, message = _REFUSALS[status]
        answer = refusal(_path_of(target), status, code, message, {"limit_bytes": HEAD_LIMIT})
        peer = self.transport.getPeer() if self.transport is not None else None
        logger.warning("refused a request from %s: %s (%d)", getattr(peer, "host", "?"), code, status)
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\nCache-Control: no-store\r\n\r\n%s"
                             % (status, reason, answer["Content-Type"].encode(), len(answer.content), answer.content))
        # As Twisted's own refusal: the transport stops reading, sends what is written, and closes.
        self.loseConnection()


def _path_of(target: bytes) -> str:
    """The path of a request target (`/mcp?x`, or `http://host/mcp` through a proxy); empty if it is none."""
    try:
        return urlsplit(target.decode("latin-1")).path
    except ValueError:
        return ""


# The X-Request-ID of the response whose reply Daphne is handling. Daphne writes a request's access line as it
# sends the last of its body (`WebRequest.handle_reply`, in the reactor), where no request context is bound.
_answered_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("answered_request_id",
                                                                                  default=None)


@contextmanager
def _answering(request_id: str | None) -> Iterator[None]:
    token = _answered_request_id.set(request_id)
    try:
        yield
    finally:
        _answered_request_id.reset(token)


class RequestIdWebRequest(WebRequest):
    """Daphne's request, whose access line carries the request id its response was given."""

    def handle_reply(self, message: dict[str, Any]) -> None:
        ids = self.responseHeaders.getRawHeaders(b"x-request-id")  # there once the response has started
        with _answering(ids[-1].decode("latin-1") if ids else None):
            super().handle_reply(message)


class RequestIdWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket connection, whose access lines (WSCONNECTING, WSCONNECT, WSREJECT, WSDISCONNECT) carry the
    request id of its handshake: the caller's X-Request-ID or a new one, by the rule of an HTTP request's
    (`core.middleware.request_id_for`), answered in the handshake's X-Request-ID and put in the application's scope.
    Daphne writes those lines from Twisted's callbacks, where no request context is bound."""

    request_id: str | None = None

    def onConnect(self, request: Any) -> Any:
        from core.middleware import request_id_for  # needs Django's settings, set up once the application is loaded

        self.request_id = request_id_for(request.headers.get("x-request-id", ""))
        request.headers["x-request-id"] = self.request_id  # autobahn's header names are lower case
        with _answering(self.request_id):
            handshake = super().onConnect(request)
        # Autobahn answers the handshake with the headers given beside the accepted subprotocol.
        return handshake.addCallback(lambda subprotocol: (subprotocol, {"X-Request-ID": self.request_id}))

    def applicationCreateWorked(self, application_queue: Any) -> None:
        with _answering(self.request_id):
            super().applicationCreateWorked(application_queue)

    def onOpen(self) -> None:
        with _answering(self.request_id):
            super().onOpen()

    def serverReject(self) -> None:
        with _answering(self.request_id):
            super().serverReject()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        with _answering(self.request_id):
            super().onClose(wasClean, code, reason)


class OurWebSocketFactory(WebSocketFactory):
    protocol = RequestIdWebSocketProtocol


class OurHTTPFactory(HTTPFactory):
    # Twisted's own factory of the protocol, with our channel in it: the wrapper is kept for its HTTP/2 upgrade
    # after TLS negotiation (a private Twisted name; the daphne tests start the real server through it).
    def protocol(self) -> http._GenericHTTPChannelProtocol:  # type: ignore[override]
        return http._GenericHTTPChannelProtocol(HeadLimitedChannel())

    def buildProtocol(self, addr: Any) -> http._GenericHTTPChannelProtocol:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = RequestIdWebRequest  # in place of Daphne's own, which its method has just set
        return protocol


class _LoggingStream:
    """The file-like object Daphne's access log writes to: one log record per line."""

    def write(self, text: str) -> int:
        line = text.rstrip("\n")
        if line:
            access_logger.info(line, extra={"request_id": _answered_request_id.get()})
        return len(text)

    def flush(self) -> None:
        return None


class LoggedServer(Server):
    def __init__(self, *args, action_logger=None, **kwargs):
        # Daphne's own generator formats the line; only where it goes changes.
        logged = AccessLogGenerator(_LoggingStream()) if action_logger is not None else None
        super().__init__(*args, action_logger=logged, **kwargs)


    def run(self) -> None:
        # Server.run builds its factories by these module-level names, with no hook of its own.
        daphne.server.HTTPFactory = OurHTTPFactory
        daphne.server.WebSocketFactory = OurWebSocketFactory
        super().run()


class LoggedCommandLineInterface(CommandLineInterface):
    server_class = LoggedServer


def main(argv: list[str] | None = None) -> None:
    LoggedCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
