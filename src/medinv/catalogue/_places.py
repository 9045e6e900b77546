"""Location profiles and parties (departments, suppliers, customers, sites, patients)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from typing import Any, Final

import attrs
from stdnum import ean

from medinv._text import text_validator
from medinv.catalogue._checks import whole_number
from medinv.catalogue._values import StorageCondition
from medinv.errors import InvalidValueError
from medinv.locations import Location

__all__ = [
    "LocationKind",
    "LocationProfile",
    "Party",
    "PartyKind",
    "check_gln",
    "pseudonymise",
]

_GLN_LENGTH: Final = 13
_PARTY_ID_LIMIT: Final = 100
_NAME_LIMIT: Final = 200
_PSEUDONYM: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{5,63}")
_MIN_KEY_BYTES: Final = 16


def check_gln(value: object, *, field: str = "GLN") -> str:
    """``value`` if it is a valid GS1 Global Location Number (13 digits, check digit verified).

    ```pycon
    >>> check_gln("0614141000012")
    '0614141000012'

    ```

    Raises:
        InvalidValueError: not 13 digits, or a wrong check digit.
    """
    if (
        not isinstance(value, str)
        or len(value) != _GLN_LENGTH
        or not value.isdigit()
        or not value.isascii()
    ):
        raise InvalidValueError(f"invalid {field} {value!r}: a GLN is 13 digits")
    expected = ean.calc_check_digit(value[:-1])
    if value[-1] != expected:
        raise InvalidValueError(
            f"invalid {field} {value!r}: the check digit should be {expected}, not {value[-1]}"
        )
    return value


def _gln(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None:
        check_gln(value, field=attribute.name.replace("_", " ").upper())


class LocationKind(enum.Enum):
    """What a location is for."""

    STORE = "STORE"
    """A store room or warehouse bin: stock held for distribution."""
    DEPARTMENT = "DEPARTMENT"
    """A department's own stock (a ward cabinet, a theatre store)."""
    PATIENT_CARE_AREA = "PATIENT_CARE_AREA"
    """Where devices are used on patients (an operating room, a bedside)."""
    QUARANTINE_AREA = "QUARANTINE_AREA"
    """Physically set apart for stock that quality has not released."""
    IN_TRANSIT = "IN_TRANSIT"
    """Between two sites or departments: on the way, not on a shelf."""

    __hash__ = object.__hash__


def _to_location(value: object) -> Location:
    if isinstance(value, str):
        return Location.parse(value)
    if isinstance(value, Location):
        return Location(value.path)
    raise InvalidValueError(f"a location profile needs a location path, not {value!r:.80}")


@attrs.frozen(kw_only=True)
class LocationProfile:
    """What the catalogue knows about a location: its kind, pick sequence, storage and GLN.

    ```pycon
    >>> bin_ = LocationProfile(path="CHU/Pharmacy/A/03", kind=LocationKind.STORE, pick_sequence=30)
    >>> bin_.location.pick_sequence, str(bin_.path)
    (30, 'CHU/Pharmacy/A/03')

    ```
    """

    path: Location = attrs.field(converter=_to_location)
    """The location (its path is its identity)."""
    kind: LocationKind = attrs.field(validator=attrs.validators.instance_of(LocationKind))
    """What the location is for."""
    pick_sequence: int = attrs.field(default=0, validator=whole_number("pick sequence"))
    """Walking order for picks among stock of the same expiry (lower first)."""
    storage: StorageCondition | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(StorageCondition)),
    )
    """The conditions the location provides (its temperature range ...)."""
    gln: str | None = attrs.field(default=None, validator=_gln)
    """The location's GS1 Global Location Number, when it has one."""

    @property
    def location(self) -> Location:
        """The location with this profile's pick sequence, as the ledger and FEFO take it."""
        return Location(self.path.path, pick_sequence=self.pick_sequence)


class PartyKind(enum.Enum):
    """Who a movement was with."""

    DEPARTMENT = "DEPARTMENT"
    """A department of the facility (a ward, a theatre, a clinic)."""
    SUPPLIER = "SUPPLIER"
    """A manufacturer or distributor stock is received from."""
    CUSTOMER = "CUSTOMER"
    """Another organisation stock is issued or sold to."""
    SITE = "SITE"
    """Another site of the same organisation (transfers between sites)."""
    PATIENT = "PATIENT"
    """A patient, by pseudonymous reference only: never a name."""

    __hash__ = object.__hash__


def _party_id(instance: Party, _attribute: object, value: Any) -> None:
    text_validator("party id", limit=_PARTY_ID_LIMIT)(None, None, value)
    assert isinstance(value, str)  # noqa: S101  (checked above)
    if instance.kind is PartyKind.PATIENT and _PSEUDONYM.fullmatch(value) is None:
        raise InvalidValueError(
            f"invalid patient reference {value!r}: a patient is named only by a pseudonym of "
            "6 to 64 letters, digits, '.', '_', ':' or '-', without blanks, holding at least "
            "one digit (see medinv.catalogue.pseudonymise)"
        )
    if instance.kind is PartyKind.PATIENT and not any(char.isdigit() for char in value):
        raise InvalidValueError(
            f"invalid patient reference {value!r}: it holds no digit and could be a name; "
            "use a pseudonym (see medinv.catalogue.pseudonymise)"
        )


@attrs.frozen(kw_only=True)
class Party:
    """Someone stock moves to or from: a department, supplier, customer, site or patient.

    Patients are named only by a **pseudonymous reference**, never by name: a patient
    party has no name and no GLN, and its id must look like a token (letters, digits
    and ``. _ : -``, no blanks, at least one digit), which a personal name written
    in any script does not.

    ```pycon
    >>> Party(kind=PartyKind.SUPPLIER, id="ACME", name="Acme Medical", gln="0614141000012").key
    'SUPPLIER:ACME'
    >>> Party(kind=PartyKind.PATIENT, id="Jane Doe")
    Traceback (most recent call last):
    ...
    medinv.errors.InvalidValueError: invalid patient reference 'Jane Doe': a patient is named only by a pseudonym of 6 to 64 letters, digits, '.', '_', ':' or '-', without blanks, holding at least one digit (see medinv.catalogue.pseudonymise)

    ```
    """  # noqa: E501  (doctest output is one line)

    kind: PartyKind = attrs.field(validator=attrs.validators.instance_of(PartyKind))
    """What kind of party."""
    id: str = attrs.field(validator=_party_id)
    """The party's identifier in the caller's system (for a patient: the pseudonym)."""
    name: str | None = attrs.field(
        default=None, validator=text_validator("party name", optional=True, limit=_NAME_LIMIT)
    )
    """Display name; never given for a patient."""
    gln: str | None = attrs.field(default=None, validator=_gln)
    """The party's GS1 Global Location Number (suppliers, customers, sites, departments)."""

    def __attrs_post_init__(self) -> None:
        if self.kind is PartyKind.PATIENT and (self.name is not None or self.gln is not None):
            raise InvalidValueError(
                "a patient party takes only a pseudonymous reference: no name, no GLN"
            )

    @property
    def key(self) -> str:
        """``KIND:id``: unique across kinds (a department and a supplier may share an id)."""
        return f"{self.kind.value}:{self.id}"


def pseudonymise(patient_id: str, *, key: bytes, prefix: str = "P") -> str:
    """A stable pseudonym for a patient identifier: a keyed hash (HMAC-SHA-256).

    The same ``patient_id`` and ``key`` always give the same pseudonym; without the
    key the patient cannot be found from it. Keep the key outside medinv's database.

    ```pycon
    >>> pseudonymise("MRN-0012345", key=b"0123456789abcdef0123456789abcdef")
    'P-...'
    >>> len(_)
    31

    ```

    Raises:
        InvalidValueError: an empty identifier, a key shorter than 16 bytes, or a prefix
            that is not 1 to 8 letters or digits.
    """
    text_validator("patient identifier", limit=_PARTY_ID_LIMIT)(None, None, patient_id)
    if not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES:
        raise InvalidValueError("the pseudonymisation key must be at least 16 bytes")
    if not isinstance(prefix, str) or re.fullmatch(r"[A-Za-z0-9]{1,8}", prefix) is None:
        raise InvalidValueError(f"invalid pseudonym prefix {prefix!r}: 1 to 8 letters or digits")
    digest = hmac.new(key, patient_id.encode(), hashlib.sha256).digest()
    # 96 bits as 29 decimal digits: always holds a digit, never reads as a name.
    return f"{prefix}-{int.from_bytes(digest[:12], 'big'):029d}"
