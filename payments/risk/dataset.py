"""The JSON Lines transaction format (docs/RISK.md) in and out, and the column frame the features read.

A frame is a dict of equal-length numpy arrays in time order (ties keep file order): `id`, `customer`,
`ts` (int64 milliseconds since the epoch), `amount` (float, major units), `currency`, `method`,
`merchant`, `device`, `ip_country`, `card_country`, `channel`, `status` (text; "" when unknown),
`label` (1.0 fraud, 0.0 legitimate, NaN unknown) and `scenario` ("" for none).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable

import numpy as np

from core.errors import ValidationFailed

REQUIRED = ("id", "customer_id", "timestamp", "amount", "currency")
TEXT_FIELDS = ("method", "merchant_id", "device_id", "ip_country", "card_country", "channel", "status")
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")
_COLUMN_OF = {"merchant_id": "merchant", "device_id": "device"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class DatasetError(ValidationFailed):
    code = "invalid_dataset"


def write_jsonl(rows: Iterable[dict], path: str) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    return count


def fingerprint(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_jsonl(path: str) -> dict[str, np.ndarray]:
    with open(path, encoding="utf-8") as source:
        return rows_to_frame(_parse(source))


def _parse(lines: Iterable[str]) -> Iterable[dict]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise DatasetError({"line": [f"Line {number}: not JSON ({reason})."]}) from exc
        if not isinstance(row, dict):
            raise DatasetError({"line": [f"Line {number}: not a JSON object."]})
        row["_line"] = number
        yield row


def _timestamp_ms(value, line: int) -> int:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise DatasetError({"timestamp": [f"Line {line}: not an ISO 8601 timestamp."]}) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def rows_to_frame(rows: Iterable[dict]) -> dict[str, np.ndarray]:
    """Rows of the format (dicts; unknown keys ignored) to a time-ordered frame; bad rows name their line."""
    cols: dict[str, list] = {k: [] for k in ("id", "customer", "ts", "amount", "currency", "label", "scenario",
                                              *(_COLUMN_OF.get(f, f) for f in TEXT_FIELDS))}
    for n, row in enumerate(rows, 1):
        line = row.get("_line", n)
        missing = [f for f in REQUIRED if row.get(f) in (None, "")]
        if missing:
            raise DatasetError({"fields": [f"Line {line}: missing {', '.join(missing)}."]})
        amount = str(row["amount"])
        if not _AMOUNT.fullmatch(amount):
            raise DatasetError({"amount": [f"Line {line}: amount must be a plain decimal string."]})
        cols["id"].append(str(row["id"]))
        cols["customer"].append(str(row["customer_id"]))
        cols["ts"].append(_timestamp_ms(row["timestamp"], line))
        cols["amount"].append(float(amount))  # a validated plain decimal; features are floats anyway
        cols["currency"].append(str(row["currency"]).upper())
        for field in TEXT_FIELDS:
            value = row.get(field)
            cols[_COLUMN_OF.get(field, field)].append("" if value is None else str(value))
        fraud = row.get("is_fraud")
        cols["label"].append(np.nan if not isinstance(fraud, bool) else float(fraud))
        cols["scenario"].append(str(row.get("scenario") or ""))
    ts = np.array(cols["ts"], dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    frame = {}
    for name, values in cols.items():
        if name == "ts":
            arr = ts
        elif name in ("amount", "label"):
            arr = np.array(values, dtype=np.float64)
        else:
            arr = np.array(values, dtype=object)
        frame[name] = arr[order]
    return frame


def take(frame: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[mask] for name, values in frame.items()}
