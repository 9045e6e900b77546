"""Product attributes: controls, storage conditions, unit value, reorder policy, count tolerance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import attrs

from medinv._text import text_validator
from medinv.catalogue._checks import as_decimal, flag, whole_number
from medinv.errors import InvalidValueError

__all__ = [
    "ISO_4217_CODES",
    "Controls",
    "CountTolerance",
    "ReorderPolicy",
    "StorageCondition",
    "TemperatureRange",
    "UnitValue",
]

_ABSOLUTE_ZERO: Final = Decimal("-273.15")
_TEMPERATURE_PLACES: Final = 2
_TEMPERATURE_DIGITS: Final = 4
_VALUE_PLACES: Final = 6
_VALUE_DIGITS: Final = 15
_PERCENT_PLACES: Final = 4
_NOTE_LIMIT: Final = 500


@attrs.frozen(kw_only=True)
class Controls:
    """Which production identifiers the device's label carries (GUDID's flags).

    Receiving from a scan refuses a scan that lacks a field the label carries: a
    serial-controlled device scanned without its serial could never be traced.

    ```pycon
    >>> Controls(lot=True, expiry=True).required()
    ('lot', 'expiry')

    ```
    """

    lot: bool = attrs.field(default=False, validator=flag("lot control"))
    """The label carries a lot or batch number (GUDID ``lotBatch``)."""
    serial: bool = attrs.field(default=False, validator=flag("serial control"))
    """The label carries a serial number (GUDID ``serialNumber``)."""
    expiry: bool = attrs.field(default=False, validator=flag("expiry control"))
    """The label carries an expiration date (GUDID ``expirationDate``)."""
    production_date: bool = attrs.field(default=False, validator=flag("production date control"))
    """The label carries a manufacturing date (GUDID ``manufacturingDate``)."""

    def required(self) -> tuple[str, ...]:
        """The controlled fields, by name, in the order lot, serial, expiry, production date."""
        names = ("lot", "serial", "expiry", "production_date")
        return tuple(name for name in names if getattr(self, name))


def _temperature(value: object) -> Decimal | None:
    if value is None:
        return None
    result = as_decimal(
        "temperature", value, places=_TEMPERATURE_PLACES, digits=_TEMPERATURE_DIGITS
    )
    if result < _ABSOLUTE_ZERO:
        raise InvalidValueError(f"invalid temperature {value!r} °C: below absolute zero")
    return result


@attrs.frozen(kw_only=True)
class TemperatureRange:
    """An allowed temperature range in degrees Celsius, bounds included; one bound may be open.

    ```pycon
    >>> fridge = TemperatureRange(low="2", high="8")
    >>> fridge.admits(Decimal("8")), fridge.admits(Decimal("8.5"))
    (True, False)
    >>> TemperatureRange(low="3", high="7").is_within(fridge)
    True
    >>> TemperatureRange.from_fahrenheit(low="36", high="46")
    TemperatureRange(low=Decimal('2.23'), high=Decimal('7.77'))

    ```
    """

    low: Decimal | None = attrs.field(default=None, converter=_temperature)
    """The lowest allowed temperature (°C, at most 2 decimal places); ``None``: no lower bound."""
    high: Decimal | None = attrs.field(default=None, converter=_temperature)
    """The highest allowed temperature (°C, at most 2 decimal places); ``None``: no upper bound."""

    def __attrs_post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise InvalidValueError("a temperature range needs a low or a high bound (or both)")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InvalidValueError(
                f"invalid temperature range: low {self.low} °C is above high {self.high} °C"
            )

    @classmethod
    def from_fahrenheit(cls, *, low: object = None, high: object = None) -> TemperatureRange:
        """A range given in °F, converted to °C and rounded **inwards** to 0.01 °C.

        Rounding inwards (the low bound up, the high bound down) never admits a
        temperature the label does not.
        """
        return cls(
            low=None if low is None else _to_celsius(low, "ROUND_CEILING"),
            high=None if high is None else _to_celsius(high, "ROUND_FLOOR"),
        )

    @classmethod
    def from_kelvin(cls, *, low: object = None, high: object = None) -> TemperatureRange:
        """A range given in kelvin (converted exactly)."""
        offset = -_ABSOLUTE_ZERO
        return cls(
            low=None if low is None else _kelvin(low) - offset,
            high=None if high is None else _kelvin(high) - offset,
        )

    def admits(self, celsius: Decimal) -> bool:
        """Whether ``celsius`` lies inside the range (bounds included)."""
        value = as_decimal("temperature", celsius, places=6, digits=_TEMPERATURE_DIGITS)
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def is_within(self, other: TemperatureRange) -> bool:
        """Whether every temperature of this range is also in ``other``.

        A location whose range is within the product's range may hold it.
        """
        given: object = other
        if not isinstance(given, TemperatureRange):
            raise InvalidValueError(f"expected a TemperatureRange, not {type(given).__name__}")
        low_ok = other.low is None or (self.low is not None and self.low >= other.low)
        high_ok = other.high is None or (self.high is not None and self.high <= other.high)
        return low_ok and high_ok


def _kelvin(value: object) -> Decimal:
    return as_decimal("temperature (K)", value, places=_TEMPERATURE_PLACES, digits=5)


def _to_celsius(value: object, rounding: str) -> Decimal:
    fahrenheit = as_decimal("temperature (°F)", value, places=_TEMPERATURE_PLACES, digits=5)
    return ((fahrenheit - 32) * 5 / 9).quantize(Decimal("0.01"), rounding=rounding)


def _humidity(value: object) -> Decimal | None:
    if value is None:
        return None
    result = as_decimal("relative humidity", value, places=2, digits=3)
    if not 0 <= result <= 100:  # noqa: PLR2004  (percent)
        raise InvalidValueError(f"invalid relative humidity {value!r}: must be 0 to 100 %")
    return result


def _notes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise InvalidValueError(f"storage notes are a tuple of texts, not {value!r:.80}")
    check = text_validator("storage note", limit=_NOTE_LIMIT)
    for note in value:
        check(None, None, note)
    return tuple(value)


@attrs.frozen(kw_only=True)
class StorageCondition:
    """How a product must be kept, or what a location provides.

    ```pycon
    >>> StorageCondition(temperature=TemperatureRange(low="2", high="8"), notes=("keep dry",))
    StorageCondition(temperature=TemperatureRange(low=Decimal('2'), high=Decimal('8')), ...)

    ```
    """

    temperature: TemperatureRange | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(TemperatureRange)),
    )
    """Storage temperature range (GUDID "Storage Environment Temperature")."""
    handling_temperature: TemperatureRange | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(TemperatureRange)),
    )
    """Handling temperature range, where it differs (GUDID "Handling Environment Temperature")."""
    humidity_low: Decimal | None = attrs.field(default=None, converter=_humidity)
    """Lowest relative humidity in percent, or ``None``."""
    humidity_high: Decimal | None = attrs.field(default=None, converter=_humidity)
    """Highest relative humidity in percent, or ``None``."""
    notes: tuple[str, ...] = attrs.field(default=(), converter=_notes)
    """Other handling, as printed ("keep away from sunlight", "do not freeze")."""

    def __attrs_post_init__(self) -> None:
        low, high = self.humidity_low, self.humidity_high
        if low is not None and high is not None and low > high:
            raise InvalidValueError(f"invalid humidity range: low {low} % is above high {high} %")


ISO_4217_CODES: Final = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER
    ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905  (a table, laid out like the standard's list)
)
"""The ISO 4217 alphabetic currency codes medinv accepts (current ones and those withdrawn
since 2020, so older master data still reads; ``XTS`` and ``XXX`` are not currencies)."""


def _currency(_instance: object, _attribute: object, value: Any) -> None:
    if value not in ISO_4217_CODES:
        hint = (
            " (codes are upper case)"
            if isinstance(value, str) and value.upper() in ISO_4217_CODES
            else ""
        )
        raise InvalidValueError(f"invalid currency {value!r}: not an ISO 4217 code{hint}")


def _money(value: object) -> Decimal:
    result = as_decimal("unit value", value, places=_VALUE_PLACES, digits=_VALUE_DIGITS)
    if result < 0:
        raise InvalidValueError(f"invalid unit value {value!r}: must not be negative")
    return result


@attrs.frozen(kw_only=True)
class UnitValue:
    """The value of one base unit, exact: a Decimal amount and an ISO 4217 currency.

    Floats are refused (``0.1`` is not exactly one tenth); at most 6 decimal places
    and 15 digits before the point, which every store keeps exactly.

    ```pycon
    >>> v = UnitValue(amount="1.25", currency="EUR")
    >>> v.times(12)
    UnitValue(amount=Decimal('15.00'), currency='EUR')
    >>> UnitValue(amount=0.1, currency="EUR")
    Traceback (most recent call last):
    ...
    medinv.errors.InvalidValueError: invalid unit value 0.1: give a Decimal, an int or decimal text, not a float (a binary fraction is not exact)

    ```
    """  # noqa: E501  (doctest output is one line)

    amount: Decimal = attrs.field(converter=_money)
    """Value of one base unit."""
    currency: str = attrs.field(validator=_currency)
    """ISO 4217 alphabetic code (``EUR``, ``USD``, ``CHF`` ...)."""

    def times(self, quantity: int) -> UnitValue:
        """The value of ``quantity`` base units (exact, same currency)."""
        whole_number("quantity")(None, None, quantity)
        return UnitValue(amount=self.amount * quantity, currency=self.currency)


@attrs.frozen(kw_only=True)
class ReorderPolicy:
    """Replenishment parameters, in base units (and days), for the analytics to use.

    ```pycon
    >>> ReorderPolicy(minimum=20, reorder_point=40, maximum=200, lead_time_days=5).reorder_point
    40
    >>> ReorderPolicy(minimum=50, maximum=10)
    Traceback (most recent call last):
    ...
    medinv.errors.InvalidValueError: invalid reorder policy: minimum 50 is above maximum 10

    ```
    """

    minimum: int | None = attrs.field(
        default=None, validator=whole_number("minimum", optional=True)
    )
    """Stock below which the product is short (safety stock)."""
    maximum: int | None = attrs.field(
        default=None, validator=whole_number("maximum", optional=True)
    )
    """Stock a replenishment fills up to."""
    reorder_point: int | None = attrs.field(
        default=None, validator=whole_number("reorder point", optional=True)
    )
    """Stock at or below which an order is proposed."""
    lead_time_days: int | None = attrs.field(
        default=None, validator=whole_number("lead time", optional=True)
    )
    """Days from order to receipt."""

    def __attrs_post_init__(self) -> None:
        top = self.maximum
        for name in ("minimum", "reorder_point"):
            value = getattr(self, name)
            if top is not None and value is not None and value > top:
                shown = name.replace("_", " ")
                raise InvalidValueError(
                    f"invalid reorder policy: {shown} {value} is above maximum {top}"
                )
        low, point = self.minimum, self.reorder_point
        if low is not None and point is not None and point < low:
            raise InvalidValueError(
                f"invalid reorder policy: reorder point {point} is below minimum {low}"
            )


def _percent(value: object) -> Decimal:
    result = as_decimal("count tolerance percent", value, places=_PERCENT_PLACES, digits=3)
    if not 0 <= result <= 100:  # noqa: PLR2004  (percent)
        raise InvalidValueError(f"invalid count tolerance percent {value!r}: must be 0 to 100")
    return result


@attrs.frozen(kw_only=True)
class CountTolerance:
    """How far a stocktake count of the product may differ from the book without a recount.

    Within tolerance means at most ``absolute`` base units **or** at most ``percent``
    of the expected quantity; the stocktake applies it as a
    [`Tolerance`][medinv.stocktake.Tolerance] with the same two numbers.
    """

    absolute: int = attrs.field(default=0, validator=whole_number("count tolerance"))
    """Base units of difference accepted whatever the expected quantity."""
    percent: Decimal = attrs.field(default=Decimal(0), converter=_percent)
    """Difference accepted, in percent of the expected quantity (0 to 100)."""
