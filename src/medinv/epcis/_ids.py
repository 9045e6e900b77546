"""Identifiers in EPCIS events: items as GS1 Digital Link URIs (or EPC URNs), places, parties.

Lot level is a class (``quantityList`` with an LGTIN), serial level an instance
(``epcList`` with an SGTIN). GS1 devices are written as canonical GS1 Digital Link
URIs on ``https://id.gs1.org`` by default; EPC URNs only when the GS1 Company Prefix
length is given (a GTIN does not carry it). HIBC and MA devices have no GS1 key:
they are written as URNs of medinv's own namespace, ``urn:medinv:udi:<AGENCY>:<DI>``
(``:lot:<lot>`` for a lot class, ``:ser:<serial>`` for an instance), percent-encoded.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from medinv._text import percent_encoded
from medinv.devices import DeviceIdentifier, IssuingAgency
from medinv.identifiers import ItemKey, gs1_check_digit

__all__ = [
    "DL_ROOT",
    "class_uri",
    "gln_uri",
    "gtin_from_epc",
    "instance_uri",
    "item_of",
    "party_uri",
]

DL_ROOT: Final = "https://id.gs1.org"
_UDI: Final = "urn:medinv:udi:"


def _enc(text: str) -> str:
    return percent_encoded(text)


def _dec(text: str) -> str:
    return urllib.parse.unquote(text)


def _epc_parts(gtin: str, prefix_length: int) -> tuple[str, str]:
    """(company prefix, indicator + item reference) of a GTIN-14 for EPC URNs."""
    return gtin[1 : 1 + prefix_length], gtin[0] + gtin[1 + prefix_length : 13]


def class_uri(item: ItemKey, *, prefix_length: int | None = None) -> str:
    """The class identifier of a lot-level (or lot-less) item: an LGTIN or a GTIN class."""
    device = item.device
    lot = None if item.lot is None else str(item.lot)
    gtin = device.gtin
    if gtin is None:
        base = f"{_UDI}{device.agency.value}:{_enc(device.value)}"
        return base if lot is None else f"{base}:lot:{_enc(lot)}"
    if prefix_length is not None:
        company, reference = _epc_parts(gtin, prefix_length)
        if lot is None:
            return f"urn:epc:idpat:sgtin:{company}.{reference}.*"
        return f"urn:epc:class:lgtin:{company}.{reference}.{_enc(lot)}"
    return f"{DL_ROOT}/01/{gtin}" if lot is None else f"{DL_ROOT}/01/{gtin}/10/{_enc(lot)}"


def instance_uri(item: ItemKey, *, prefix_length: int | None = None) -> str:
    """The instance identifier of a serialised item: an SGTIN (or medinv's UDI URN)."""
    device, serial = item.device, str(item.serial)
    gtin = device.gtin
    if gtin is None:
        return f"{_UDI}{device.agency.value}:{_enc(device.value)}:ser:{_enc(serial)}"
    if prefix_length is not None:
        company, reference = _epc_parts(gtin, prefix_length)
        return f"urn:epc:id:sgtin:{company}.{reference}.{_enc(serial)}"
    return f"{DL_ROOT}/01/{gtin}/21/{_enc(serial)}"


def gln_uri(gln: str, extension: str | None = None) -> str:
    """A physical location: ``https://id.gs1.org/414/<GLN>`` (``/254/<extension>``)."""
    base = f"{DL_ROOT}/414/{gln}"
    return base if extension is None else f"{base}/254/{_enc(extension)}"


def party_uri(gln: str) -> str:
    """A party: ``https://id.gs1.org/417/<GLN>``."""
    return f"{DL_ROOT}/417/{gln}"


# ----------------------------------------------------------------------------- reading back

_DL_ITEM: Final = re.compile(r"https://id\.gs1\.org/01/(\d{14})(?:/(10|21)/([^/?#]+))?")
_EPC_SGTIN: Final = re.compile(r"urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.+)")
_EPC_LGTIN: Final = re.compile(r"urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\.(.+)")
_EPC_IDPAT: Final = re.compile(r"urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*")
_UDI_ITEM: Final = re.compile(r"urn:medinv:udi:([A-Z0-9]+):([^:]+)(?::(lot|ser):([^:]+))?")


def gtin_from_epc(company: str, reference: str) -> str:
    """The GTIN-14 of an EPC URN's company prefix and indicator + item reference."""
    body = reference[0] + company + reference[1:]
    return body + str(gs1_check_digit(body))


def item_of(uri: str, *, instance: bool, lot: str | None = None) -> ItemKey:  # noqa: C901
    """The item an EPC, class or UDI URI names (``lot``: the lot of a serialised item).

    Raises:
        ValueError: not an identifier medinv reads (caught and reported by the caller).
        InvalidValueError: an identifier part breaks medinv's rules.
    """
    found = _DL_ITEM.fullmatch(uri)
    if found is not None:
        gtin, ai, value = found.groups()
        if instance != (ai == "21"):
            raise ValueError("a serial (AI 21) is an instance, a lot (AI 10) or GTIN a class")
        device = DeviceIdentifier.of(IssuingAgency.GS1, gtin)
        if ai == "21":
            return ItemKey(device, lot=lot, serial=_dec(value))
        return ItemKey(device, lot=None if value is None else _dec(value))
    for pattern, is_instance in ((_EPC_SGTIN, True), (_EPC_LGTIN, False), (_EPC_IDPAT, False)):
        found = pattern.fullmatch(uri)
        if found is None:
            continue
        if instance != is_instance:
            raise ValueError("an SGTIN is an instance; an LGTIN or GTIN pattern a class")
        parts = found.groups()
        device = DeviceIdentifier.of(IssuingAgency.GS1, gtin_from_epc(parts[0], parts[1]))
        if pattern is _EPC_SGTIN:
            return ItemKey(device, lot=lot, serial=_dec(parts[2]))
        return ItemKey(device, lot=_dec(parts[2]) if pattern is _EPC_LGTIN else None)
    found = _UDI_ITEM.fullmatch(uri)
    if found is not None:
        agency, value, part, text = found.groups()
        if instance != (part == "ser"):
            raise ValueError("a ':ser:' UDI URN is an instance, a ':lot:' or bare one a class")
        device = DeviceIdentifier.of(agency, _dec(value))
        if part == "ser":
            return ItemKey(device, lot=lot, serial=_dec(text))
        return ItemKey(device, lot=None if text is None else _dec(text))
    raise ValueError("not a GS1 Digital Link, EPC or medinv UDI identifier")
