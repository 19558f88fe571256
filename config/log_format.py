"""The dictConfig pieces every log handler that writes uses: one JSON object per line with the request's
context, and no card number (a refused URL is logged with its query string). Dotted names only, so the Django
settings and the web server's main process (config/serve.py, before Django is set up) share them without
importing the code they name."""

from __future__ import annotations

from typing import Any

FILTERS: dict[str, dict[str, Any]] = {
    "context": {"()": "core.logging.RequestContextFilter"},
    "mask_pans": {"()": "core.logging.PanMaskingFilter"},
}
FORMATTERS: dict[str, dict[str, Any]] = {"json": {"()": "core.logging.JsonFormatter"}}
# A stream handler writing JSON lines through both filters; add "stream".
CONSOLE_HANDLER: dict[str, Any] = {"class": "logging.StreamHandler", "formatter": "json",
                                   "filters": list(FILTERS)}
