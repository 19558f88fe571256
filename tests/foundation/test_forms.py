"""`core.forms.AmountField`: the one money input of the staff pages."""

import pytest
from django import forms

from core.forms import AmountField


def test_amount_field_shows_stored_minor_units_as_decimal():
    field = AmountField(currency="KWD")
    assert (field.prepare_value(1005), field.clean("1.005"), field.clean(" 2 ")) == ("1.005", 1005, 2000)
    assert field.widget.render("amount", field.prepare_value(1005)).endswith('<span class="bo-currency">KWD</span>')
    with pytest.raises(forms.ValidationError) as refused:
        field.clean("0")
    assert refused.value.code == "amount_not_positive"
    signed = AmountField(currency="USD", allow_negative=True, required=False)
    assert (signed.clean("-1.50"), signed.clean("")) == (-150, None)
