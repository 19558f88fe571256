"""The one money input of the staff pages: a decimal string in major units plus its currency.

`AmountField` cleans through `core.money.parse_amount`, so a form refuses exactly what the API
refuses, with the API's message and code, and shows a stored minor-units value back as the
decimal string a person typed. The currency is either known from the object (`currency=`, set
when the form is built) or chosen in a select next to the amount (`currency_field=`, another
field of the same form, read by `MoneyFormMixin`). Action forms over several objects, each with
its own currency, keep the text and convert it per object with `AmountField.minor_for`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.renderers import BaseRenderer
from django.utils.html import format_html

from .errors import DomainError
from .money import CURRENCY_CHOICES, CurrencyMismatch, Money, format_amount, normalize_currency, parse_amount

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

    _FormBase = forms.BaseForm
else:
    _FormBase = object  # a mixin at run time; typed against the form it is mixed into


class AmountInput(forms.TextInput):
    """A text input for major units, followed by the currency code when the currency is fixed."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "size": 14, **(attrs or {})})
        self.currency = ""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: BaseRenderer | None = None) -> SafeString:
        html = super().render(name, value, attrs, renderer)
        if self.currency:
            return format_html('{} <span class="bo-currency">{}</span>', html, self.currency)
        return html


class AmountField(forms.Field):
    widget = AmountInput
    # Set by MoneyFormMixin when the currency is another field's initial value.
    _initial_currency: str | None
    default_help_text = 'In major units of the currency, e.g. "12.50".'

    def __init__(self, *, currency: str | None = None, currency_field: str | None = None, allow_zero: bool = False,
                 allow_negative: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", self.default_help_text)
        super().__init__(**kwargs)
        self.currency_field = currency_field
        self.allow_zero, self.allow_negative = allow_zero, allow_negative
        self.currency = currency

    @property
    def currency(self) -> str | None:
        return self._currency

    @currency.setter
    def currency(self, value: str | None) -> None:
        """Fixes the currency (known from the object): the amount is then cleaned on its own and
        the input shows the code next to it."""
        self._currency = normalize_currency(value) if value else None
        self.widget.currency = self._currency or ""

    def prepare_value(self, value: Any) -> Any:
        # A stored value (minor units) is shown as the decimal a person would type.
        if isinstance(value, Money):
            return format_amount(value.amount, value.currency)
        if isinstance(value, int) and not isinstance(value, bool) and self.display_currency:
            return format_amount(value, self.display_currency)
        return value

    @property
    def display_currency(self) -> str | None:
        return self._currency or getattr(self, "_initial_currency", None)

    def has_changed(self, initial: Any, data: Any) -> bool:
        shown = self.prepare_value(initial)
        return ("" if shown is None else str(shown)) != ("" if data is None else str(data).strip())

    def to_python(self, value: Any) -> int | str | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already minor units (an unchanged initial value)
        # Surrounding blanks are stripped as in every Django text field; the rest is parse_amount's.
        return str(value).strip() or None

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if isinstance(value, str) and self._currency:
            return self.to_minor(value, self._currency)
        return value

    def to_minor(self, text: str, currency: str) -> int:
        """The text as minor units of `currency`, or a ValidationError with the API's message."""
        try:
            return self.parse(text, currency)
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def parse(self, text: str, currency: str) -> int:
        """The text as minor units of `currency`; raises the money DomainError (for per-object actions)."""
        return parse_amount(text, currency, allow_zero=self.allow_zero, allow_negative=self.allow_negative)

    def minor_for(self, value: int | str | None, currency: str) -> int | None:
        """For an action over objects of several currencies: the cleaned value as minor units of one
        object's `currency` (None stays None); refusals are the API's DomainErrors."""
        if value is None:
            return None
        if isinstance(value, int):
            if self._currency and self._currency != normalize_currency(currency):
                raise CurrencyMismatch(f"The amount is in {self._currency}; this object is in {currency}.",
                                       details={"currency": self._currency, "object_currency": currency})
            return value
        return self.parse(value, currency)


class CurrencyChoiceField(forms.ChoiceField):
    """The select next to an amount: ISO codes, any case in, upper case out."""

    def __init__(self, *, blank_label: str | None = None, **kwargs: Any) -> None:
        choices = list(CURRENCY_CHOICES)
        if blank_label is not None:
            choices = [("", blank_label), *choices]
            kwargs.setdefault("required", False)
        super().__init__(choices=choices, **kwargs)

    def to_python(self, value: Any) -> str:
        text: str = super().to_python(value)
        return text.strip().upper()


class MoneyFormMixin(_FormBase):
    """For forms with `AmountField`s whose currency is another field of the form (the select next
    to it) or, when that field is not on the form (read-only on a change page), the object's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        for field in self.fields.values():
            if not isinstance(field, AmountField) or not field.currency_field or field.currency:
                continue
            known = getattr(instance, field.currency_field, None) if instance is not None else None
            if field.currency_field not in self.fields:
                if known:
                    field.currency = known
            else:
                field._initial_currency = self.initial.get(field.currency_field) or known or None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # a clean() that returns None keeps cleaned_data, as in Django's own forms
            data = self.cleaned_data
        for name, field in self.fields.items():
            value = data.get(name)
            if not isinstance(field, AmountField) or not isinstance(value, str) or not field.currency_field:
                continue
            currency = data.get(field.currency_field)
            if not currency:
                if field.currency_field not in self.errors:
                    self.add_error(field.currency_field, "Choose the currency of the amount.")
                continue
            try:
                data[name] = field.to_minor(value, currency)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data
