"""Shared by the dashboard page tests: a page's chart payload as the browser receives it, and CSV rows."""

from __future__ import annotations

import csv
import io
import json


def chart_payload(body: str, name: str) -> dict:
    return json.loads(body.split(f'id="chart-{name}-data" type="application/json">')[1].split("</script>")[0])


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))
