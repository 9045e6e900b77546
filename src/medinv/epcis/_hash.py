"""The EPCIS event hash ID (CBV 2.0): a canonical pre-hash string and its SHA-256.

The algorithm is the one the CBV 2.0 standard specifies and its reference
implementation (gs1's EPCIS Event Hash Generator) computes: the event's fields in the
canonical property order, ``key=value`` without separators, timestamps in UTC with
milliseconds, bare CBV terms expanded to their ``https://ref.gs1.org/cbv/`` URIs, EPC
URNs converted to constrained canonical GS1 Digital Link URIs, list members sorted,
``eventID``, ``recordTime`` and ``errorDeclaration`` left out (so an error declaration
has the eventID of the event it declares wrong), and the remaining fields
(business transactions, sources, destinations, ILMD, user extensions) written as
sorted ``{namespace}name=value`` strings. The result is
``ni:///sha-256;<hex>?ver=CBV2.0``.

Scope: ObjectEvents and the fields medinv reads and writes, plus the other standard
event-level fields in their canonical place; EPC URNs of the SGTIN, LGTIN, SSCC, SGLN
and PGLN schemes are normalised (other schemes are hashed as written).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from medinv.epcis._ids import DL_ROOT, gtin_from_epc
from medinv.identifiers import gs1_check_digit

__all__ = ["CBV_WEB", "canonical_value", "event_hash_id", "hash_id_of", "prehash"]

_CBV: Final = "https://ref.gs1.org/cbv/"
CBV_WEB: Final = _CBV
"""Where the CBV 2.0 terms live: ``https://ref.gs1.org/cbv/``."""
_ORDERED: Final = (
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    "epcList",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
)
_EPC_LISTS: Final = frozenset({"epcList", "inputEPCList", "childEPCs", "outputEPCList"})
_QUANTITY_LISTS: Final = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
_TYPED_LISTS: Final = {
    "bizTransactionList": ("bizTransaction", "BTT-"),
    "sourceList": ("source", "SDT-"),
    "destinationList": ("destination", "SDT-"),
}
_LEFT_OUT: Final = frozenset(
    {"type", "eventID", "recordTime", "errorDeclaration", "@context", *_ORDERED, *_TYPED_LISTS}
)
_URN_VOCAB: Final = (
    ("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV + "ER-"),
)
_BARE: Final = re.compile(r"[a-z_]+")


def _numeric(text: str) -> str:
    """Numbers without trailing zeros (as the reference does it, through a float)."""
    try:
        number = float(text)
    except ValueError:
        return text
    try:
        whole = int(number)
    except (ValueError, OverflowError):
        return text
    return str(whole) if whole == number else str(number)


def _gln(company: str, reference: str) -> str:
    body = company + reference
    return body + str(gs1_check_digit(body))


_URN_RULES: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = (
    (
        re.compile(r"urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.{1,60})"),
        lambda m: f"{DL_ROOT}/01/{gtin_from_epc(m[1], m[2])}/21/{_web(m[3])}",
    ),
    (
        re.compile(r"urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\.(.{1,60})"),
        lambda m: f"{DL_ROOT}/01/{gtin_from_epc(m[1], m[2])}/10/{_web(m[3])}",
    ),
    (
        re.compile(r"urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*"),
        lambda m: f"{DL_ROOT}/01/{gtin_from_epc(m[1], m[2])}",
    ),
    (
        re.compile(r"urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})"),
        lambda m: f"{DL_ROOT}/00/{_gln(m[2][0] + m[1], m[2][1:])}",
    ),
    (
        re.compile(r"urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.(.{1,20})"),
        lambda m: (
            f"{DL_ROOT}/414/{_gln(m[1], m[2])}" + ("" if m[3] == "0" else f"/254/{_web(m[3])}")
        ),
    ),
    (
        re.compile(r"urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})"),
        lambda m: f"{DL_ROOT}/417/{_gln(m[1], m[2])}",
    ),
)
_DL: Final = re.compile(r"https?://[^/?#]+(/.*?)?(?:[?#].*)?")
_DL_KEY: Final = re.compile(r"/(00|01|253|255|401|402|414|417|8003|8004|8006|8010|8017|8018)/")


def _web(text: str) -> str:
    """Percent-encode what the reference encodes when it turns an EPC URN into a web URI."""
    for char, code in (("!", "%21"), ("(", "%28"), (")", "%29"), ("*", "%2A"), ("+", "%2B")):
        text = text.replace(char, code)
    return text.replace(",", "%2C").replace(":", "%3A")


def _constrain_dl(uri: str) -> str | None:
    """A GS1 Digital Link URI as a constrained canonical one (id.gs1.org, finest key only)."""
    found = _DL.fullmatch(uri)
    if found is None or found[1] is None:
        return None
    key = _DL_KEY.search(found[1])
    if key is None:
        return None
    path = found[1][key.start() :]
    parts = path.strip("/").split("/")
    if parts[0] == "01" and len(parts) > 1:
        digits = parts[1]
        if len(digits) in (8, 12, 13) and digits.isdigit():
            parts[1] = digits.rjust(14, "0")
    pairs = dict(zip(parts[2::2], parts[3::2], strict=False))
    head = parts[:2]
    if parts[0] == "01":
        if "21" in pairs:
            head += ["21", pairs["21"]]
        elif "10" in pairs:
            head += ["10", pairs["10"]]
        elif "235" in pairs:
            head += ["235", pairs["235"]]
    elif parts[0] in ("414", "8006", "8010"):
        head += parts[2:4]
    return DL_ROOT + "/" + "/".join(head)


_MAYBE_SPECIAL: Final = frozenset("0123456789+-.iInNuhH")


def _value(text: str) -> str:
    first = text[:1]
    if first == "u":
        # Not a number (nothing starting with "u" is); unless a CBV or EPC URN, as it is
        # (the URNs of medinv's ids and references: benchmarks/bench_epcis.py).
        plain = not text.startswith("urn:epc")
    else:
        plain = bool(first) and not (
            first in _MAYBE_SPECIAL or first.isspace() or first.isdecimal()
        )
    if plain and not text[-1].isspace():
        return text  # not a number, URN or URL, nothing to trim: as it is (the common case)
    text = text.strip()
    for urn, web in _URN_VOCAB:
        if text.startswith(urn):
            return web + text[len(urn) :]
    text = _numeric(text)
    if text.startswith("urn:epc:"):
        for pattern, make in _URN_RULES:
            found = pattern.fullmatch(text)
            if found is not None:
                return make(found)
        return text
    if text.startswith(("http://", "https://")):
        return _constrain_dl(text) or text
    return text


def _time(text: str) -> str:
    moment = dt.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    moment = moment.replace(microsecond=round(moment.microsecond, -3))
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def _vocab(text: str, prefix: str) -> str:
    text = text.strip()
    return _CBV + prefix + text if _BARE.fullmatch(text) else _value(text)


def _scalar(key: str, value: object) -> str:
    text = _json_text(value)
    lowered = key.lower()
    if "time" in lowered and "offset" not in lowered:
        try:
            return _time(text)
        except ValueError:
            return text
    return _value(text)


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(name: str, namespaces: Mapping[str, str]) -> str:
    prefix, colon, local = name.partition(":")
    if colon and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return name


def _generic(key: str, value: Any, namespaces: Mapping[str, str]) -> list[str]:
    """``value`` under ``key`` as the reference's generic strings (one per list member)."""
    name = _key(key, namespaces)
    if isinstance(value, list):
        return [s for member in value for s in _generic(key, member, namespaces)]
    if isinstance(value, dict):
        inner = sorted(
            s
            for child_key, child in value.items()
            if child_key not in ("#text", "rdfs:comment", "comment")
            for s in _generic(child_key, child, namespaces)
        )
        own = "=" + _value(str(value["#text"])) if "#text" in value else ""
        return [name + own + "".join(inner)]
    text = _value(_json_text(value))  # no time normalisation outside the ordered fields
    return [name + ("=" + text if text else "")]


def _ordered(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> list[str]:  # noqa: C901  (one branch per field shape)
    out: list[str] = []
    for name in _ORDERED:
        if name not in event:
            continue
        value = event[name]
        if name in _EPC_LISTS:
            members = sorted("epc=" + _value(str(epc)) for epc in value)
            if members:
                out.append(name + "".join(members))
        elif name in _QUANTITY_LISTS:
            elements = sorted(
                "quantityElement"
                + "".join(
                    f"{field}={_value(str(element[field]))}"
                    for field in ("epcClass", "quantity", "uom")
                    if field in element
                )
                for element in value
            )
            if elements:
                out.append(name + "".join(elements))
        elif name in ("bizStep", "disposition"):
            out.append(f"{name}={_vocab(str(value), 'BizStep-' if name == 'bizStep' else 'Disp-')}")
        elif name == "persistentDisposition":
            parts = [
                f"{part}={_vocab(str(term), 'Disp-')}"
                for part in ("set", "unset")
                for term in sorted(value.get(part, ()))
            ]
            out.append(name + "".join(parts))
        elif name in ("readPoint", "bizLocation"):
            extra = sorted(
                s for k, v in value.items() if k != "id" for s in _generic(k, v, namespaces)
            )
            out.append(f"{name}id={_value(str(value['id']))}" + "".join(extra))
        elif isinstance(value, (dict, list)):
            out.extend(_generic(name, value, namespaces))
        else:
            out.append(f"{name}={_scalar(name, value)}")
    return out


def _rest(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> list[str]:
    rest: list[str] = []
    for name, (member, vocabulary) in _TYPED_LISTS.items():
        entries = event.get(name)
        if not entries:
            continue
        members = sorted(
            (f"type={_vocab(str(entry['type']), vocabulary)}" if "type" in entry else "")
            + f"{member}={_value(str(entry[member]))}"
            for entry in entries
        )
        rest.append(name + "".join(members))
    for key, value in event.items():
        if key not in _LEFT_OUT:
            rest.extend(_generic(key, value, namespaces))
    return sorted(rest)


def prehash(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The canonical pre-hash string of an EPCIS event given as a JSON-LD object.

    Args:
        event: the event (a parsed JSON object).
        namespaces: the document's ``@context`` prefixes (``{"medinv": "urn:..."}``),
            so that extension names are written ``{namespace}name``.
    """
    spaces = namespaces or {}
    return "".join(
        [f"eventType={event.get('type', '')}", *_ordered(event, spaces), *_rest(event, spaces)]
    )


def hash_id_of(pre: str) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` of a pre-hash string."""
    return f"ni:///sha-256;{hashlib.sha256(pre.encode('utf-8')).hexdigest()}?ver=CBV2.0"


def event_hash_id(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The event's hash ID, ``ni:///sha-256;<hex>?ver=CBV2.0``: the same event, the same ID."""
    return hash_id_of(prehash(event, namespaces))


def canonical_value(text: str) -> str:
    """A text value as the pre-hash string writes it (trimmed, numbers and GS1 URIs canonical)."""
    return _value(text)
