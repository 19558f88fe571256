"""Daphne, the ASGI server of `make run`, the Procfile and the containers, with its access log sent
through our logging (`daphne.access`), where the card-number mask and the JSON format apply.

Daphne writes its access log straight to a stream (stdout by default), so a card number typed into a
URL or query string would be printed as it came. Run it as `python -m config.daphne <daphne args>`.
"""

from __future__ import annotations

import logging
import sys

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server

access_logger = logging.getLogger("daphne.access")


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


class LoggedCommandLineInterface(CommandLineInterface):
    server_class = LoggedServer


def main(argv: list[str] | None = None) -> None:
    LoggedCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
