"""A small local HTTP fake of the Stripe endpoints we use, for the official SDK to talk to.

It keeps PaymentIntents and Refunds in memory, honours Idempotency-Key (same key: same
stored response), and behaves by payment method: `pm_card_visa` succeeds,
`pm_card_chargeDeclined` / `pm_card_chargeDeclinedInsufficientFunds` decline with 402,
`pm_slow` answers only after `slow_seconds` (longer than the client's timeout).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds",
                                                "Your card has insufficient funds."),
}


def _unflatten(pairs):
    out: dict = {}
    for key, value in pairs:
        if "[" in key:
            head, rest = key.split("[", 1)
            sub = rest.rstrip("]").split("][")
            target = out.setdefault(head, {})
            for part in sub[:-1]:
                target = target.setdefault(part, {})
            target[sub[-1]] = value
        else:
            out[key] = value
    return out


class FakeStripe:
    def __init__(self, slow_seconds: float = 1.5):
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.slow_seconds = slow_seconds
        self.slow_refunds = False
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._answer(*fake.handle("GET", self.path, {}, None))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = _unflatten(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                status, body = fake.handle("POST", self.path, params, self.headers.get("Idempotency-Key"))
                if params.get("payment_method") == "pm_garbage":
                    self.send_response(200)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not json!")
                    return
                try:
                    self._answer(status, body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (a read timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def new_id(self, prefix):
        return f"{prefix}_fake{next(self._ids):06d}"

    def handle(self, method, path, params, idem_key):
        path = path.split("?")[0]
        self.requests.append((method, path, params))
        if method == "POST" and idem_key:
            with self.lock:
                if idem_key in self.idempotent:
                    return self.idempotent[idem_key]
        result = self._route(method, path, params)
        if method == "POST" and idem_key:
            with self.lock:
                self.idempotent.setdefault(idem_key, result)
        if params.get("payment_method") == "pm_slow" or (self.slow_refunds and path == "/v1/refunds"):
            time.sleep(self.slow_seconds)
        return result

    def _error(self, status, type_, code, message, **extra):
        return status, {"error": {"type": type_, "code": code, "message": message, **extra}}

    def _route(self, method, path, params):
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["payment_intents"] and method == "POST":
            return self._create_intent(params)
        if parts[:1] == ["payment_intents"] and len(parts) >= 2:
            intent = self.intents.get(parts[1])
            if intent is None:
                return self._error(404, "invalid_request_error", "resource_missing", "No such payment_intent")
            if len(parts) == 2:
                return 200, intent
            if parts[2] == "capture":
                if intent["status"] != "requires_capture":
                    return self._error(400, "invalid_request_error", "payment_intent_unexpected_state",
                                       "This PaymentIntent could not be captured.")
                amount = int(params.get("amount_to_capture") or intent["amount_capturable"])
                intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
                return 200, intent
            if parts[2] == "cancel":
                intent.update(status="canceled", amount_capturable=0)
                return 200, intent
        if parts == ["refunds"] and method == "POST":
            intent = self.intents.get(params.get("payment_intent", ""))
            amount = int(params.get("amount") or 0)
            refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == params.get(
                "payment_intent") and r["status"] != "failed")
            if intent is None or amount > intent["amount_received"] - refunded:
                return self._error(400, "invalid_request_error", "amount_too_large",
                                   "Refund amount is greater than unrefunded amount on charge.")
            refund = {"id": self.new_id("re"), "object": "refund", "amount": amount, "status": "succeeded",
                      "payment_intent": intent["id"], "metadata": params.get("metadata", {}), "currency":
                      intent["currency"]}
            self.refunds[refund["id"]] = refund
            return 200, refund
        return self._error(404, "invalid_request_error", "resource_missing", f"Unrecognized request URL {path}")

    def _create_intent(self, params):
        amount = int(params["amount"])
        pm = params.get("payment_method", "")
        intent = {"id": self.new_id("pi"), "object": "payment_intent", "amount": amount, "amount_capturable": 0,
                  "amount_received": 0, "currency": params["currency"], "capture_method": params.get(
                      "capture_method", "automatic"), "metadata": params.get("metadata", {}), "status":
                  "requires_payment_method", "payment_method": pm, "last_payment_error": None}
        self.intents[intent["id"]] = intent
        if pm in DECLINES:
            code, decline_code, message = DECLINES[pm]
            intent["last_payment_error"] = {"code": code, "decline_code": decline_code, "message": message}
            return self._error(402, "card_error", code, message, decline_code=decline_code, payment_intent=intent)
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=amount)
        else:
            intent.update(status="succeeded", amount_received=amount)
        return 200, intent
