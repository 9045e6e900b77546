"""What a trace follows: one lot of a device, or one serialised unit of a device."""

from __future__ import annotations

from typing import Any

import attrs

from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey, Lot, Serial, device_of
from medinv.ports import MovementQuery

__all__ = ["TraceSubject"]


def _to_lot(value: object) -> Lot | None:
    return value if value is None or isinstance(value, Lot) else Lot(value)  # type: ignore[arg-type]


def _to_serial(value: object) -> Serial | None:
    return value if value is None or isinstance(value, Serial) else Serial(value)  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class TraceSubject:
    """A lot of a device (every unit of that lot, serialised or not) or one serial of a device.

    The device is a UDI-DI of any issuing agency (GTIN digits, ``AGENCY:DI`` text or a
    [`DeviceIdentifier`][medinv.devices.DeviceIdentifier]). Exactly one of ``lot`` and
    ``serial`` is given: a lot and a serial never name the same subject, even when
    their text is the same.

    ```pycon
    >>> from medinv.trace import TraceSubject
    >>> str(TraceSubject.of_lot("04006381333931", "L1"))
    '04006381333931 lot L1'
    >>> lot = TraceSubject.of_lot("04006381333931", "X1")
    >>> lot == TraceSubject.of_serial("04006381333931", "X1")
    False

    ```

    Raises:
        InvalidValueError: no device, both or neither of lot and serial, or an
            invalid device identifier, lot or serial.
    """

    device: DeviceIdentifier = attrs.field(converter=device_of)
    """The device identifier, of any agency."""
    lot: Lot | None = attrs.field(default=None, converter=_to_lot)
    """The lot followed, or ``None`` when a serial is."""
    serial: Serial | None = attrs.field(default=None, converter=_to_serial)
    """The serial followed, or ``None`` when a lot is."""

    def __attrs_post_init__(self) -> None:
        if (self.lot is None) == (self.serial is None):
            msg = (
                f"a trace follows a lot or a serial of {self.device_text}: give exactly one "
                f"of them (lot {self.lot!r}, serial {self.serial!r})"
            )
            raise InvalidValueError(msg)

    @classmethod
    def of_lot(cls, device: DeviceIdentifier | str, lot: Lot | str) -> TraceSubject:
        """The lot ``lot`` of ``device``."""
        return cls(device=device, lot=lot)

    @classmethod
    def of_serial(cls, device: DeviceIdentifier | str, serial: Serial | str) -> TraceSubject:
        """The unit of ``device`` with serial ``serial`` (in whatever lot)."""
        return cls(device=device, serial=serial)

    @classmethod
    def of_item(cls, item: ItemKey) -> TraceSubject:
        """The serial of a serialised item, else its lot.

        Raises:
            InvalidValueError: the item has neither a lot nor a serial.
        """
        if not isinstance(item, ItemKey):
            raise InvalidValueError(f"expected an ItemKey, not {type(item).__name__}")
        if item.serial is not None:
            return cls(device=item.device, serial=item.serial)
        if item.lot is not None:
            return cls(device=item.device, lot=item.lot)
        msg = f"{item} has neither a lot nor a serial: there is nothing to trace"
        raise InvalidValueError(msg)

    @property
    def device_text(self) -> str:
        """The device as stored: GTIN-14 digits for GS1, ``AGENCY:DI`` otherwise."""
        return ItemKey(self.device).device_text

    def covers(self, item: ItemKey) -> bool:
        """Whether ``item`` is (a unit of) this subject."""
        if item.device != self.device:
            return False
        if self.serial is not None:
            return item.serial == self.serial
        return item.lot == self.lot

    def query(self, **filters: Any) -> MovementQuery:
        """The movement query of this subject's movements, with further ``filters``."""
        return MovementQuery(device=self.device, lot=self.lot, serial=self.serial, **filters)

    def __str__(self) -> str:
        if self.serial is not None:
            return f"{self.device_text} serial {self.serial.value}"
        assert self.lot is not None  # noqa: S101  (one of them, checked at construction)
        return f"{self.device_text} lot {self.lot.value}"
