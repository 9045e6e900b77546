"""Checks of EPCIS events: medinv's own (what a schema cannot say) and the official schema.

medinv's checks: GS1 check digits of the GTINs and GLNs in Digital Link URIs and
EPC URNs, quantities above 0, instances (SGTINs) only in ``epcList`` and classes
(LGTINs, GTIN classes) only in ``quantityList``, and Digital Link identifiers in
their form and order (``/01/<GTIN-14>`` first, then ``10`` before ``21``; nothing
else). The schema check compiles a schema file the caller supplies (GS1's schema
cannot ship with medinv) with ``fastjsonschema`` (extra ``medinv[epcis]``), format
checks on.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from medinv.errors import InvalidValueError
from medinv.identifiers import gs1_check_digit

__all__ = ["EpcisEventError", "SchemaValidator", "check_event", "check_events"]

_DL: Final = re.compile(r"https://id\.gs1\.org/(.*)")
_AI82: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_EPC_SGTIN: Final = re.compile(r"urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)")
_EPC_CLASS: Final = re.compile(r"urn:epc:(?:class:lgtin|idpat:sgtin):(\d+)\.(\d+)\.(.+)")
_GTIN_DIGITS: Final = 13
_VERDICTS: Final = 65_536  # identifiers repeat across events: each is judged once


class EpcisEventError(InvalidValueError):
    """An EPCIS event that medinv refuses: which event, which field, what is wrong."""

    def __init__(self, event: int | str, field: str, reason: str) -> None:
        self.event = event
        self.field = field
        self.reason = reason
        where = f"event {event}" if isinstance(event, int) else f"event {event!r}"
        super().__init__(f"invalid EPCIS {where}, field {field}: {reason}")


def _check_key(digits: str, length: int, what: str) -> str | None:
    if len(digits) != length or not digits.isdigit():
        return f"a {what} has {length} digits, not {digits!r}"
    if gs1_check_digit(digits[:-1]) != int(digits[-1]):
        return f"{what} {digits} has a wrong check digit (should be {gs1_check_digit(digits[:-1])})"
    return None


@functools.lru_cache(maxsize=_VERDICTS)
def _dl_problem(uri: str, *, instance: bool) -> str | None:  # noqa: C901, PLR0911
    found = _DL.fullmatch(uri)
    if found is None:
        return None
    parts = found[1].split("/")
    if len(parts) % 2:
        return f"Digital Link path {found[1]!r} is not pairs of AI and value"
    if parts[0] != "01":
        return f"an item identifier starts with /01/ (GTIN), not /{parts[0]}/"
    problem = _check_key(parts[1], 14, "GTIN-14")
    if problem is not None:
        return problem
    ais = parts[2::2]
    order = {"22": 0, "10": 1, "21": 2}
    if any(ai not in order for ai in ais):
        return f"only AIs 22, 10 and 21 may follow the GTIN, not {ais}"
    if [order[ai] for ai in ais] != sorted({order[ai] for ai in ais}):
        return f"Digital Link qualifiers out of order or repeated {ais}: 22, then 10, then 21"
    for value in parts[3::2]:
        if _AI82.fullmatch(urllib.parse.unquote(value)) is None:
            return f"qualifier value {value!r} is not 1 to 20 GS1 AI 82 characters"
    if instance and "21" not in ais:
        return "an epcList holds instances (with a serial, AI 21), not a class"
    if not instance and "21" in ais:
        return "a quantityList holds classes; an SGTIN (with a serial, AI 21) goes in epcList"
    return None


@functools.lru_cache(maxsize=_VERDICTS)
def _urn_problem(uri: str, *, instance: bool) -> str | None:
    sgtin, lgtin = _EPC_SGTIN.fullmatch(uri), _EPC_CLASS.fullmatch(uri)
    found = sgtin or lgtin
    if found is None:
        return None
    if instance and lgtin is not None:
        return "an LGTIN or GTIN class goes in quantityList, not epcList"
    if not instance and sgtin is not None:
        return "an SGTIN goes in epcList, not quantityList"
    company, reference = found[1], found[2]
    if len(company) + len(reference) != _GTIN_DIGITS or not 6 <= len(company) <= 12:  # noqa: PLR2004
        return (
            f"company prefix and item reference have 13 digits together, not {company}.{reference}"
        )
    return None


@functools.lru_cache(maxsize=_VERDICTS)
def _location_problem(uri: str) -> str | None:
    found = _DL.fullmatch(uri)
    if found is None:
        return None
    parts = found[1].split("/")
    if parts[0] not in ("414", "417") or len(parts) not in (2, 4):
        return f"a place is /414/<GLN> (with /254/<extension>) or a party /417/<GLN>, not {uri!r}"
    if len(parts) == 4 and (parts[0] != "414" or parts[2] != "254"):  # noqa: PLR2004
        return f"only a GLN extension (AI 254) may follow a location GLN, not /{parts[2]}/"
    return _check_key(parts[1], 13, "GLN")


def _check_quantity(index: int | str, position: int, element: Mapping[str, Any]) -> None:
    quantity = element.get("quantity")
    field = f"quantityList[{position}].quantity"
    if quantity is None:
        return
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
        raise EpcisEventError(index, field, f"a quantity is a number, not {quantity!r}")
    if quantity <= 0:
        raise EpcisEventError(index, field, f"a quantity is above 0, not {quantity}")


def check_event(event: Mapping[str, Any], index: int | str = 0) -> None:  # noqa: C901, PLR0912
    """Medinv's own checks of one event (see the module docs).

    Args:
        event: the event, as parsed JSON.
        index: how to name the event in errors (its position in the document, or its id).

    Raises:
        EpcisEventError: the first problem found, naming the event and the field.
    """
    name = event.get("eventID", index) if isinstance(event.get("eventID"), str) else index
    for position, epc in enumerate(event.get("epcList", ()) or ()):
        field = f"epcList[{position}]"
        if not isinstance(epc, str):
            raise EpcisEventError(name, field, f"an EPC is a URI, not {epc!r}")
        problem = _dl_problem(epc, instance=True) or _urn_problem(epc, instance=True)
        if problem is not None:
            raise EpcisEventError(name, field, problem)
    for position, element in enumerate(event.get("quantityList", ()) or ()):
        field = f"quantityList[{position}].epcClass"
        if not isinstance(element, Mapping):
            raise EpcisEventError(name, f"quantityList[{position}]", "not an object")
        epc_class = element.get("epcClass")
        if not isinstance(epc_class, str):
            raise EpcisEventError(name, field, f"an EPC class is a URI, not {epc_class!r}")
        problem = _dl_problem(epc_class, instance=False) or _urn_problem(epc_class, instance=False)
        if problem is not None:
            raise EpcisEventError(name, field, problem)
        _check_quantity(name, position, element)
    for field in ("readPoint", "bizLocation"):
        place = event.get(field)
        if isinstance(place, Mapping) and isinstance(place.get("id"), str):
            problem = _location_problem(place["id"])
            if problem is not None:
                raise EpcisEventError(name, f"{field}.id", problem)
    for list_name, member in (("sourceList", "source"), ("destinationList", "destination")):
        for position, entry in enumerate(event.get(list_name, ()) or ()):
            if isinstance(entry, Mapping) and isinstance(entry.get(member), str):
                problem = _location_problem(entry[member])
                if problem is not None:
                    raise EpcisEventError(name, f"{list_name}[{position}].{member}", problem)


def check_events(events: Iterable[Mapping[str, Any]]) -> int:
    """[`check_event`][medinv.epcis.check_event] on each event; returns how many were checked."""
    count = 0
    for count, event in enumerate(events, start=1):
        check_event(event, count - 1)
    return count


class SchemaValidator:
    """Validates EPCIS documents or single events against a JSON Schema the caller supplies.

    Uses ``fastjsonschema`` (install ``medinv[epcis]``) with its format checks
    (``uri``, ``date-time`` ...), then medinv's own checks on every event.

    Args:
        schema: the schema as parsed JSON, or the path of the schema file (GS1's
            ``EPCIS-JSON-Schema.json``).

    Raises:
        InvalidValueError: the schema cannot be read or compiled, or fastjsonschema
            is not installed.
    """

    def __init__(self, schema: Mapping[str, Any] | str | Path) -> None:
        try:
            import fastjsonschema  # noqa: PLC0415  (optional extra, loaded when used)
        except ImportError as error:  # pragma: no cover  (the dev environment has it)
            msg = "EPCIS schema validation needs fastjsonschema: pip install 'medinv[epcis]'"
            raise InvalidValueError(msg) from error
        if isinstance(schema, (str, Path)):
            try:
                loaded: Any = json.loads(Path(schema).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                msg = f"cannot read the EPCIS JSON Schema {str(schema)!r}: {error}"
                raise InvalidValueError(msg) from error
        else:
            loaded = dict(schema)
        try:
            self._validate: Callable[[Any], Any] = fastjsonschema.compile(loaded)
        except fastjsonschema.JsonSchemaDefinitionException as error:
            msg = f"the EPCIS JSON Schema does not compile: {error}"
            raise InvalidValueError(msg) from error
        self._error = fastjsonschema.JsonSchemaValueException

    def schema_only(self, document: Mapping[str, Any]) -> None:
        """Only the schema check (no medinv checks).

        Raises:
            EpcisEventError: the document breaks the schema (field named by its path).
        """
        try:
            self._validate(document)
        except self._error as error:
            path = ".".join(str(part) for part in (getattr(error, "path", None) or ["data"]))
            raise EpcisEventError("document", path, str(error)) from None

    def validate(self, document: Mapping[str, Any]) -> None:
        """Check a whole document (or a single event carrying its ``@context``).

        Raises:
            EpcisEventError: the first problem: the schema's, else medinv's.
        """
        self.schema_only(document)
        body = document.get("epcisBody")
        if isinstance(body, Mapping):
            events = body.get("eventList") or []
            check_events(events)
        else:
            check_event(document)

    def validate_event(self, event: Mapping[str, Any], context: object = None) -> None:
        """Check one event alone (wrapped in a document with medinv's context)."""
        from medinv.epcis._export import CONTEXT  # noqa: PLC0415  (avoids an import cycle)

        document = {
            "@context": context if context is not None else CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00.000Z",
            "epcisBody": {"eventList": [dict(event)]},
        }
        self.validate(document)
