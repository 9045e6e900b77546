"""Typed business references (EPCIS / CBV business transaction types) and effective dating."""

from __future__ import annotations

import bisect
import enum
import itertools
from collections.abc import Iterable
from typing import Any, Final, Generic, TypeVar

import attrs
import pendulum

from medinv._text import percent_encoded, text_validator
from medinv.catalogue._places import check_gln
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError

__all__ = ["BusinessReference", "BusinessTransactionType", "Effective", "EffectiveHistory"]

_CBV_WEB: Final = "https://ref.gs1.org/cbv/BTT-"
_CBV_URN: Final = "urn:epcglobal:cbv:btt:"
_MEDINV_URN: Final = "urn:medinv:btt:"
_REFERENCE_LIMIT: Final = 100

T = TypeVar("T")


class BusinessTransactionType(enum.Enum):
    """The kind of document a movement refers to.

    The first thirteen are the business transaction types of the GS1 Core Business
    Vocabulary (CBV 2.0), which EPCIS events carry; their URI is
    ``https://ref.gs1.org/cbv/BTT-<code>``. The others are medinv's own, for
    hospital work the CBV does not name; their URI is ``urn:medinv:btt:<code>``.
    """

    BOL = "bol"
    """Bill of lading (transport document)."""
    CERT = "cert"
    """Certificate (e.g. of conformity or analysis)."""
    DESADV = "desadv"
    """Despatch advice: the supplier's delivery note."""
    INV = "inv"
    """Invoice."""
    PEDIGREE = "pedigree"
    """Pedigree (chain of custody record)."""
    PO = "po"
    """Purchase order."""
    POC = "poc"
    """Purchase order confirmation."""
    PRODORDER = "prodorder"
    """Production order (e.g. a kit assembled in house)."""
    RECADV = "recadv"
    """Receiving advice: the goods receipt note sent back to the supplier."""
    RMA = "rma"
    """Return merchandise authorisation."""
    TESTPRD = "testprd"
    """Test procedure."""
    TESTRES = "testres"
    """Test result."""
    UPEVT = "upevt"
    """Upstream EPCIS event."""
    PROCEDURE = "procedure"
    """medinv: a clinical procedure (an operation, an intervention) devices were used in."""
    REQUISITION = "requisition"
    """medinv: a department's internal order on the store."""
    STOCKTAKE = "stocktake"
    """medinv: a stocktake whose adjustments these are."""
    RECALL = "recall"
    """medinv: a recall campaign (or field safety notice)."""

    __hash__ = object.__hash__

    @property
    def is_cbv(self) -> bool:
        """Whether the type is one of the CBV's (``False`` for medinv's own)."""
        return self not in _MEDINV_TYPES

    @property
    def uri(self) -> str:
        """The type's URI: the CBV 2.0 web URI, or ``urn:medinv:btt:<code>``."""
        return (_CBV_WEB if self.is_cbv else _MEDINV_URN) + self.value

    @classmethod
    def parse(cls, text: str) -> BusinessTransactionType:
        """Read a type from its code (``"po"``), its URI or its CBV 1.x URN.

        ```pycon
        >>> BusinessTransactionType.parse("urn:epcglobal:cbv:btt:desadv").value
        'desadv'

        ```

        Raises:
            InvalidValueError: not a known type.
        """
        given: object = text
        if isinstance(given, str):
            code = text.strip()
            for prefix in (_CBV_WEB, _CBV_URN, _MEDINV_URN):
                if code.startswith(prefix):
                    code = code[len(prefix) :]
                    break
            member = _BY_CODE.get(code.lower())
            if member is not None and (
                member.is_cbv or not text.strip().startswith((_CBV_WEB, _CBV_URN))
            ):
                return member
        known = ", ".join(member.value for member in cls)
        raise InvalidValueError(
            f"unknown business transaction type {given!r}: expected one of {known}"
        )


_MEDINV_TYPES: Final = frozenset(
    {
        BusinessTransactionType.PROCEDURE,
        BusinessTransactionType.REQUISITION,
        BusinessTransactionType.STOCKTAKE,
        BusinessTransactionType.RECALL,
    }
)
_BY_CODE: Final = {member.value: member for member in BusinessTransactionType}


def _to_type(value: object) -> object:
    return BusinessTransactionType.parse(value) if isinstance(value, str) else value


def _issuer(_instance: object, _attribute: object, value: Any) -> None:
    if value is not None:
        check_gln(value, field="issuer GLN")


@attrs.frozen(kw_only=True, cache_hash=True)
class BusinessReference:
    """A typed reference to a business document: a purchase order, a delivery note ...

    The text form is ``<type>:<id>`` (``po:PO-4711``);
    [`uri`][medinv.catalogue.BusinessReference.uri] gives the EPCIS form.

    ```pycon
    >>> ref = BusinessReference.parse("desadv:DN 2026/118")
    >>> ref.type, ref.id, str(ref)
    (<BusinessTransactionType.DESADV: 'desadv'>, 'DN 2026/118', 'desadv:DN 2026/118')
    >>> BusinessReference(type="po", id="4711", issuer_gln="0614141000012").uri
    'urn:epcglobal:cbv:bt:0614141000012:4711'
    >>> ref.uri
    'urn:medinv:bt:desadv:DN%202026%2F118'

    ```
    """

    type: BusinessTransactionType = attrs.field(
        converter=_to_type, validator=attrs.validators.instance_of(BusinessTransactionType)
    )
    """The kind of document."""
    id: str = attrs.field(validator=text_validator("business reference", limit=_REFERENCE_LIMIT))
    """The document's number, verbatim."""
    issuer_gln: str | None = attrs.field(default=None, validator=_issuer)
    """The GLN of the party that issued the number, when known (makes the id globally unique)."""

    @classmethod
    def parse(cls, text: str) -> BusinessReference:
        """Read the text form ``<type>:<id>``.

        Raises:
            InvalidValueError: no ``:``, an unknown type or an invalid id.
        """
        given: object = text
        if not isinstance(given, str) or ":" not in given:
            raise InvalidValueError(
                f"invalid business reference {given!r}: expected '<type>:<id>', e.g. 'po:4711'"
            )
        code, _, number = text.partition(":")
        return cls(type=code, id=number)

    @property
    def uri(self) -> str:
        """The reference as a URI, for EPCIS ``bizTransaction``.

        With an issuer GLN, the CBV form ``urn:epcglobal:cbv:bt:<GLN>:<id>``; otherwise
        ``urn:medinv:bt:<type>:<id>`` with the id percent-encoded.
        """
        if self.issuer_gln is not None:
            return f"urn:epcglobal:cbv:bt:{self.issuer_gln}:{percent_encoded(self.id)}"
        return f"urn:medinv:bt:{self.type.value}:{percent_encoded(self.id)}"

    def __str__(self) -> str:
        return f"{self.type.value}:{self.id}"


def _moment(value: object) -> pendulum.DateTime:
    return to_datetime(value)


@attrs.frozen(kw_only=True)
class Effective(Generic[T]):
    """A value valid from a moment on (until the next version of the same thing)."""

    value: T
    """The master data valid from ``valid_from``."""
    valid_from: pendulum.DateTime = attrs.field(converter=_moment)
    """The first moment it applies (an aware date-time)."""


def _versions(value: Any) -> tuple[Effective[Any], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidValueError(f"versions are Effective values, not {value!r:.80}")
    result = sorted(value, key=_start)
    for before, after in itertools.pairwise(result):
        if before.valid_from == after.valid_from:
            raise InvalidValueError(
                f"two versions valid from the same moment {after.valid_from.isoformat()}"
            )
    return tuple(result)


def _start(version: object) -> pendulum.DateTime:
    if not isinstance(version, Effective):
        raise InvalidValueError(f"versions are Effective values, not {version!r:.80}")
    return version.valid_from


@attrs.frozen
class EffectiveHistory(Generic[T]):
    """The versions of one piece of master data over time; what applied "as of" a moment.

    What a past movement meant is judged with the master data of its time.

    ```pycon
    >>> h = EffectiveHistory[str]().changed("2 to 8 °C", valid_from="2026-01-01T00:00:00+00:00")
    >>> h = h.changed("2 to 25 °C", valid_from="2026-06-01T00:00:00+00:00")
    >>> h.as_of("2026-03-15T12:00:00+01:00"), h.as_of("2026-06-01T00:00:00+00:00")
    ('2 to 8 °C', '2 to 25 °C')
    >>> h.as_of("2025-12-31T23:59:59+00:00") is None
    True

    ```
    """

    versions: tuple[Effective[T], ...] = attrs.field(default=(), converter=_versions)
    """Every version, oldest first; no two start at the same moment."""

    def as_of(self, moment: object) -> T | None:
        """The value that applied at ``moment`` (aware), or ``None`` before the first version.

        Raises:
            InvalidDateError: ``moment`` is not an aware date-time.
        """
        at = to_datetime(moment)
        index = bisect.bisect_right(self.versions, at, key=_start)
        return self.versions[index - 1].value if index else None

    def changed(self, value: T, *, valid_from: object) -> EffectiveHistory[T]:
        """A history with ``value`` valid from ``valid_from`` on.

        Stating again the version that starts at that moment is a no-op; a different
        value for the same moment is refused (change the later moment instead).

        Raises:
            InvalidValueError: another value already starts at ``valid_from``.
        """
        version = Effective(value=value, valid_from=valid_from)
        for existing in self.versions:
            if existing.valid_from == version.valid_from:
                if existing.value == value:
                    return self
                raise InvalidValueError(
                    f"another version is valid from {version.valid_from.isoformat()}: "
                    f"{existing.value!r:.80}"
                )
        return EffectiveHistory((*self.versions, version))
