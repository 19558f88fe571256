"""Daphne, the ASGI server of `make run`, the Procfile and the containers, with its access log sent
through our logging (`daphne.access`), where the card-number mask and the JSON format apply, and an
answer for a request whose head is too large.

Daphne writes its access log straight to a stream (stdout by default), so a card number typed into a
URL or query string would be printed as it came. Run it as `python -m config.daphne <daphne args>`.

Daphne parses HTTP/1.1 with Twisted's `HTTPChannel`: at most `HEAD_LIMIT` (16 KiB) for the request line and
every header together, and for any one line (`LineReceiver.MAX_LENGTH`). Past the total, Twisted answers a bare
400; a single line past it (a 64 KB cookie or header) made Twisted drop the connection without a word. Both are
now answered 431 (a header) or 414 (the request line) with the API's error body, before Django sees anything.
"""

from __future__ import annotations

import json
import logging
import sys

import daphne.server
from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory
from daphne.server import Server
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
        # LineReceiver's own answer is to close the connection. No line of this request yet: it is the request line.
        self._refuse(414 if self._receivedHeaderSize == 0 else 431)

    def lineReceived(self, line: bytes) -> None:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(431)  # Twisted would answer a bare 400
            return
        super().lineReceived(line)

    def _refuse(self, status: int) -> None:
        reason, code, message = _REFUSALS[status]
        # The shape of core.middleware.error_body, written here: no Django before the request is one.
        body = json.dumps({"error": {"code": code, "message": message, "details": {"limit_bytes": HEAD_LIMIT}}})
        peer = self.transport.getPeer() if self.transport is not None else None
        logger.warning("refused a request from %s: %s (%d)", getattr(peer, "host", "?"), code, status)
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\nCache-Control: no-store\r\n\r\n%s"
                             % (status, reason, len(body), body.encode()))
        # As Twisted's own refusal: the transport stops reading, sends what is written, and closes.
        self.loseConnection()


class HeadLimitedHTTPFactory(HTTPFactory):
    # Twisted's own factory of the protocol, with our channel in it: the wrapper is kept for its HTTP/2 upgrade
    # after TLS negotiation (a private Twisted name; the daphne tests start the real server through it).
    def protocol(self) -> http._GenericHTTPChannelProtocol:  # type: ignore[override]
        return http._GenericHTTPChannelProtocol(HeadLimitedChannel())


class _LoggingStream:
    """The file-like object Daphne's access log writes to: one log record per line."""

    def write(self, text: str) -> int:
        line = text.rstrip("\n")
        if line:
            access_logger.info(line)
        return len(text)

    def flush(self) -> None:
        return None


class LoggedServer(Server):
    def __init__(self, *args, action_logger=None, **kwargs):
        # Daphne's own generator formats the line; only where it goes changes.
        logged = AccessLogGenerator(_LoggingStream()) if action_logger is not None else None
        super().__init__(*args, action_logger=logged, **kwargs)


    def run(self) -> None:
        # Server.run builds its factory by this module-level name, with no hook of its own.
        daphne.server.HTTPFactory = HeadLimitedHTTPFactory
        super().run()


class LoggedCommandLineInterface(CommandLineInterface):
    server_class = LoggedServer


def main(argv: list[str] | None = None) -> None:
    LoggedCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
