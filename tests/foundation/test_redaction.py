import pytest

from core.redaction import mask_pans


@pytest.mark.parametrize(("text", "masked"), [
    ("4242424242424242", "[PAN ****4242]"),
    ("GET /api/v1/payments?customer_id=4242424242424242&x=1 HTTP/1.1",
     "GET /api/v1/payments?customer_id=[PAN ****4242]&x=1 HTTP/1.1"),
    ("/api/v1/payments/4242424242424242/refunds", "/api/v1/payments/[PAN ****4242]/refunds"),
    ("card 4000 0566 5566 5556 ok", "card [PAN ****5556] ok"),
    ("card=4000-0566-5566-5556", "card=[PAN ****5556]"),
    ("q=4000+0566+5566+5556", "q=[PAN ****5556]"),
    ("q=4000%200566%205566%205556&y=2", "q=[PAN ****5556]&y=2"),
    ("4000.0566.5566.5556", "[PAN ****5556]"),
    ("4000_0566_5566_5556", "[PAN ****5556]"),
    ("q=4000/0566/5566/5556&y=2", "q=[PAN ****5556]&y=2"),
    ("card 4000,0566,5566,5556 ok", "card [PAN ****5556] ok"),
    ("q=4000%2C0566%2C5566%2C5556", "q=[PAN ****5556]"),
    ("4000\u00a00566\u00a05566\u00a05556", "[PAN ****5556]"),
    ("\uff14\uff12" * 8, "[PAN ****4242]"),  # fullwidth digits
    ("amex 378282246310005", "amex [PAN ****0005]"),
    ("two: 4242424242424242 and 5555555555554444.", "two: [PAN ****4242] and [PAN ****4444]."),
    # Digits grouped beside the number stay as written (a path's version was masked with it).
    ("GET /api/v1/4242424242424242", "GET /api/v1/[PAN ****4242]"),
    ("/api/v1/4242424242424242/2", "/api/v1/[PAN ****4242]/2"),
    ("card 4242 4242 4242 4242 123", "card [PAN ****4242] 123"),
    ("12 4242424242424242 99", "12 [PAN ****4242] 99"),
])
def test_card_numbers_are_masked_in_any_common_spelling(text, masked):
    assert mask_pans(text) == masked


@pytest.mark.parametrize("text", [
    "4242424242424241",  # fails Luhn
    "1234567890123",  # starts with 1
    "424242424242",  # 12 digits
    "2026-11-30T02:15:03.141636Z request 1796005590.816213",
    "pay_4bC12D3f4g5H6i7J8k9L0m1N and wal_AbC123",
    "amount=100000000000.00&limit=20",
    "",
])
def test_other_numbers_are_left_alone(text):
    assert mask_pans(text) == text
