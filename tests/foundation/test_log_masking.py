"""Card numbers never reach a log line: not from a URL, a message, its arguments, extra fields or a traceback.

The configured console handler (tests' dictConfig, like base settings' LOGGING) is what writes them;
these tests point it at a buffer and read what it wrote after real requests.
"""

import io
import json
import logging
import re

import pytest
from django.test import Client

from core.cards import contains_pan

PAN = "4242424242424242"
SPACED = "4000 0566 5566 5556"


def assert_no_card_number(text: str) -> None:
    assert PAN not in text
    assert "".join(SPACED.split()) not in re.sub(r"[ +]|%20", "", text)
    for run in re.findall(r"[\d \-+%.]{13,}", text):
        assert not contains_pan(run.replace("%20", " ").replace("+", " ")), run


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def console():
    """What the root logger's configured `console` handler writes, with its own filters and formatter."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer.getvalue
    handler.setStream(previous)


@pytest.mark.django_db
def test_requests_with_a_card_number_in_the_url_log_it_masked_at_rest_and_mcp(api, console):
    query = api.get(f"/api/v1/payments?customer_id={PAN}")
    path = api.get(f"/api/v1/payments/{PAN}")
    spaced = api.get("/api/v1/payments", {"customer_id": SPACED})
    assert [r.json()["error"]["code"] for r in (query, path, spaced)] == ["raw_card_data_not_allowed"] * 3
    mcp = Client()
    mcp_query = mcp.post(f"/mcp/?card={PAN}", data="{}", content_type="application/json")
    mcp_path = mcp.post(f"/mcp/{PAN}", data="{}", content_type="application/json")
    assert (mcp_query.status_code, mcp_path.status_code) == (401, 404)
    written = console()
    lines = _json_lines(written)
    logged = [line for line in lines if line["logger"] == "django.request"]
    assert len(logged) == 5, lines
    assert_no_card_number(written)
    # The lines still say which request it was, with the card number masked.
    assert [line["message"] for line in logged[:2]] == [
        "Bad Request: /api/v1/payments", "Bad Request: /api/v1/payments/[PAN ****4242]"]
    assert "customer_id=[PAN ****4242]" in logged[0]["request"]
    assert "customer_id=[PAN ****5556]" in logged[2]["request"]
    assert "/mcp/?card=[PAN ****4242]" in logged[3]["request"]
    assert logged[4]["message"] == "Not Found: /mcp/[PAN ****4242]"


def test_any_logger_masks_message_arguments_extra_fields_and_tracebacks(console):
    log = logging.getLogger("anything.at.all")
    log.warning("charging %s for %s", PAN, "order 1", extra={"url": f"/x?c={SPACED}", "nested": {"k": [PAN]}})
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        log.exception("failed on %s", SPACED.replace(" ", "-"))
    written = console()
    assert_no_card_number(written)
    first, second = _json_lines(written)
    assert first["message"] == "charging [PAN ****4242] for order 1"
    assert (first["url"], first["nested"]) == ("/x?c=[PAN ****5556]", {"k": ["[PAN ****4242]"]})
    assert second["message"] == "failed on [PAN ****5556]"
    assert "ValueError: bad card [PAN ****4242]" in second["exc_info"]


def test_a_float_argument_is_logged_to_six_decimals_not_masked_as_a_card_number(console):
    """Celery logs each task's runtime with all 17 digits: one in twenty such numbers passed for a card number."""
    duration = 5.077172505113161  # str(): "5.077172505113161", masked as "[PAN ****3161]" before
    logger = logging.getLogger("tests.log_masking")
    logger.warning("Task %(name)s succeeded in %(runtime)ss", {"name": "t", "runtime": duration})
    logger.warning("took %s s", duration)
    logger.warning("card as a float %s, as text %s", float(PAN), str(duration))
    messages = [line["message"] for line in _json_lines(console()) if line["logger"] == "tests.log_masking"]
    assert messages == ["Task t succeeded in 5.077173s", "took 5.077173 s",
                        # Only the number is masked (its own last four); the ".0" beside it stays.
                        "card as a float [PAN ****4242].0, as text [PAN ****3161]"]
