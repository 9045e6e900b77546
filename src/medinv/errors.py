"""The medinv exception hierarchy.

Every exception medinv raises on purpose is a subclass of
[`MedinvError`][medinv.errors.MedinvError]:

```

MedinvError
├── InvalidValueError (also a ValueError)   bad input: identifiers, dates, quantities, barcodes
│   ├── InvalidGtinError
│   ├── InvalidIdentifierError               lot, serial, movement id, reason, actor ...
│   ├── InvalidDateError
│   ├── InvalidQuantityError
│   │   ├── IncompatibleUnitsError
│   │   └── IndivisibleQuantityError
│   ├── InvalidLocationError
│   ├── InvalidMovementError
│   ├── InvalidBarcodeError
│   └── CountImportError                     a count file with bad rows (each row and column named)
├── StockError                              a domain rule refused the operation
│   ├── InsufficientStockError
│   ├── BalanceLimitError                   a balance would exceed 2**63 - 1
│   ├── StockNotIssuableError
│   ├── SerialConflictError
│   ├── LotMasterDataConflictError
│   ├── IdempotencyConflictError
│   ├── ReversalError
│   ├── StalePlanError                      an allocation plan no longer matches the stock
│   └── StocktakeError                      a stocktake rule refused the operation
│       ├── StocktakeStateError              not allowed in the stocktake's current state
│       ├── UnknownStocktakeError
│       ├── CountLineError                   a line outside the scope, a bad recount, a reused id
│       ├── FourEyesError                    the approver created the stocktake or counted a line
│       └── ApprovalRefusedError             recounts pending or reason codes missing
└── StorageError                            raised only by stores (driver errors translated)
    └── ConcurrencyError
```

Subclasses carry structured attributes so that callers can react without parsing
messages:

```pycon
>>> from medinv.errors import InvalidGtinError
>>> err = InvalidGtinError("0761234567890", "the check digit should be 4, not 0")
>>> isinstance(err, ValueError), err.value
(True, '0761234567890')
>>> print(err)
invalid GTIN '0761234567890': the check digit should be 4, not 0

```
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ApprovalRefusedError",
    "BalanceLimitError",
    "ConcurrencyError",
    "CountImportError",
    "CountLineError",
    "FourEyesError",
    "IdempotencyConflictError",
    "IncompatibleUnitsError",
    "IndivisibleQuantityError",
    "InsufficientStockError",
    "InvalidBarcodeError",
    "InvalidDateError",
    "InvalidGtinError",
    "InvalidIdentifierError",
    "InvalidLocationError",
    "InvalidMovementError",
    "InvalidQuantityError",
    "InvalidValueError",
    "LotMasterDataConflictError",
    "MedinvError",
    "ReversalError",
    "SerialConflictError",
    "StalePlanError",
    "StockError",
    "StockNotIssuableError",
    "StocktakeError",
    "StocktakeStateError",
    "StorageError",
    "UnknownStocktakeError",
]


_SHOWN: Final = 20
"""How many items an error message lists before eliding the rest."""


class MedinvError(Exception):
    """Base class of every error medinv raises on purpose."""


# --------------------------------------------------------------------------- invalid values


class InvalidValueError(MedinvError, ValueError):
    """Bad input: a value that can never be valid, whatever the state of the stock."""


class InvalidGtinError(InvalidValueError):
    """A GTIN that is malformed or fails its check digit."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        """The input as given."""
        self.reason = reason
        """What is wrong with it."""
        super().__init__(f"invalid GTIN {value!r}: {reason}")


class InvalidIdentifierError(InvalidValueError):
    """A lot, serial or other identifier outside its character set or length."""

    def __init__(self, kind: str, value: object, reason: str, *, offset: int | None = None) -> None:
        self.kind = kind
        """Which identifier: ``"lot"``, ``"serial"``, ``"movement id"`` ..."""
        self.value = value
        """The input as given."""
        self.reason = reason
        """What is wrong with it."""
        self.offset = offset
        """Zero-based position of the first offending character, where there is one."""
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"invalid {kind} {value!r}{where}: {reason}")


class InvalidDateError(InvalidValueError):
    """A date or date-time that is malformed, impossible or lacks a required time zone."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        """The input as given."""
        self.reason = reason
        """What is wrong with it."""
        super().__init__(f"invalid date {value!r}: {reason}")


class InvalidQuantityError(InvalidValueError):
    """A quantity that is negative, not a whole number, or otherwise impossible."""


class IncompatibleUnitsError(InvalidQuantityError):
    """Arithmetic or comparison between quantities of different units or products."""

    def __init__(self, left: object, right: object, reason: str) -> None:
        self.left = left
        """The left operand."""
        self.right = right
        """The right operand."""
        super().__init__(f"cannot combine {left} and {right}: {reason}")


class IndivisibleQuantityError(InvalidQuantityError):
    """A conversion through a packaging hierarchy that does not come out whole."""

    def __init__(self, quantity: object, target: str, per: int) -> None:
        self.quantity = quantity
        """The quantity that was to be converted."""
        self.target = target
        """The unit it was to be converted to."""
        self.per = per
        """How many units of the source make one of the target."""
        super().__init__(f"{quantity} is not a whole number of {target} ({per} make one {target})")


class InvalidLocationError(InvalidValueError):
    """A location path that is empty or has an invalid segment."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        """The input as given."""
        self.reason = reason
        """What is wrong with it."""
        super().__init__(f"invalid location {value!r}: {reason}")


class InvalidMovementError(InvalidValueError):
    """A movement whose fields do not fit its kind (e.g. a receipt with a source location)."""

    def __init__(self, movement_id: object, reason: str) -> None:
        self.movement_id = movement_id
        """The id of the offending movement."""
        self.reason = reason
        """What is wrong with it."""
        super().__init__(f"invalid movement {movement_id!r}: {reason}")


class InvalidBarcodeError(InvalidValueError):
    """Scanner input that is not a valid GS1, HIBC or MA code.

    The message says what was wrong and where; ``offset`` and ``ai`` say it as data.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        offset: int | None = None,
        ai: str | None = None,
    ) -> None:
        self.text = text
        """The scanner input (possibly truncated for display)."""
        self.offset = offset
        """Zero-based character offset in the input where the problem was found."""
        self.ai = ai
        """The GS1 Application Identifier concerned, when the problem is in one element."""
        super().__init__(message)


class CountImportError(InvalidValueError):
    """A count file (CSV) with one or more bad rows; nothing of it was imported.

    ``problems`` lists every bad cell, so that one pass over the file fixes them all.
    """

    def __init__(self, problems: tuple[tuple[int, str, str], ...], *, source: str = "CSV") -> None:
        self.problems = problems
        """``(row, column, what is wrong)`` for every problem; ``row`` is the file's line number."""
        shown = "; ".join(
            f"row {row}, column {column!r}: {reason}" for row, column, reason in problems[:_SHOWN]
        )
        more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        super().__init__(f"{source} refused, {len(problems)} problem(s): {shown}{more}")


# --------------------------------------------------------------------------- stock rules


class StockError(MedinvError):
    """A domain rule refused the operation; the input was well-formed."""


class InsufficientStockError(StockError):
    """Posting would make a balance negative."""

    def __init__(
        self,
        *,
        item: object,
        location: object,
        status: object,
        requested: int,
        available: int,
        movement_id: str | None = None,
    ) -> None:
        self.item = item
        """The stock item concerned."""
        self.location = location
        """Where the stock was asked for."""
        self.status = status
        """In which status."""
        self.requested = requested
        """How much the movement (or batch) takes out."""
        self.available = available
        """How much is there."""
        self.movement_id = movement_id
        """The movement that was refused."""
        by = f" (movement {movement_id!r})" if movement_id else ""
        super().__init__(
            f"insufficient stock of {item} at {location} [{status}]{by}: "
            f"requested {requested}, available {available}"
        )


class BalanceLimitError(StockError):
    """Posting would take a balance above the largest quantity every store holds exactly.

    See [`MAX_QUANTITY`][medinv.quantity.MAX_QUANTITY] (a signed 64-bit integer).
    """

    def __init__(
        self,
        *,
        item: object,
        location: object,
        status: object,
        balance: int,
        adding: int,
        movement_id: str | None = None,
    ) -> None:
        self.item = item
        """The stock item concerned."""
        self.location = location
        """Where the stock would go."""
        self.status = status
        """In which status."""
        self.movement_id = movement_id
        """The movement that was refused."""
        by = f" (movement {movement_id!r})" if movement_id else ""
        super().__init__(
            f"the balance of {item} at {location} [{status}]{by} would exceed the largest "
            f"quantity medinv holds (2**63 - 1): {balance} + {adding}"
        )


class StockNotIssuableError(StockError):
    """Stock that may not leave: not AVAILABLE, or expired on the movement's date."""

    def __init__(self, *, item: object, movement_id: str, reason: str) -> None:
        self.item = item
        """The stock item concerned."""
        self.movement_id = movement_id
        """The movement that was refused."""
        self.reason = reason
        """Why the stock may not be issued."""
        super().__init__(f"movement {movement_id!r} may not take {item}: {reason}")


class SerialConflictError(StockError):
    """A serialised item would exist twice, or in two places at once."""

    def __init__(self, *, item: object, movement_id: str, reason: str) -> None:
        self.item = item
        """The serialised item concerned."""
        self.movement_id = movement_id
        """The movement that was refused."""
        self.reason = reason
        """What the conflict is."""
        super().__init__(f"movement {movement_id!r} conflicts on serial {item}: {reason}")


class LotMasterDataConflictError(StockError):
    """A movement states lot master data (expiry) that contradicts what is known."""

    def __init__(self, *, item: object, movement_id: str, known: object, given: object) -> None:
        self.item = item
        """The lot concerned."""
        self.movement_id = movement_id
        """The movement that was refused."""
        self.known = known
        """The value on record."""
        self.given = given
        """The value the movement states."""
        super().__init__(
            f"movement {movement_id!r} gives expiry {given} for {item}, "
            f"which is on record with expiry {known}"
        )


class IdempotencyConflictError(StockError):
    """A movement id posted again with different content."""

    def __init__(self, movement_id: str, differences: tuple[str, ...] = ()) -> None:
        self.movement_id = movement_id
        """The reused id."""
        self.differences = differences
        """Names of the fields that differ from the stored movement."""
        what = f" (differs in {', '.join(differences)})" if differences else ""
        super().__init__(
            f"movement id {movement_id!r} was already posted with different content{what}"
        )


class ReversalError(StockError):
    """A reversal that does not undo an existing movement exactly once."""

    def __init__(self, movement_id: str, reverses: str | None, reason: str) -> None:
        self.movement_id = movement_id
        """The reversal movement."""
        self.reverses = reverses
        """The movement it claims to reverse."""
        self.reason = reason
        """What is wrong."""
        super().__init__(f"reversal {movement_id!r} of {reverses!r} refused: {reason}")


class StalePlanError(StockError):
    """An allocation plan no longer matches the stock it was made from; plan again."""

    def __init__(self, *, planned_at: int, current: int, reason: str) -> None:
        self.planned_at = planned_at
        """The ledger position the plan was made at."""
        self.current = current
        """The ledger position (or index position) found when the plan was used."""
        self.reason = reason
        """What changed."""
        super().__init__(
            f"allocation plan made at position {planned_at} is stale at position {current}: "
            f"{reason}"
        )


class StocktakeError(StockError):
    """A stocktake rule refused the operation (a variance is data, never this error)."""


class StocktakeStateError(StocktakeError):
    """The operation is not allowed in the stocktake's current lifecycle state."""

    def __init__(self, stocktake_id: str, state: object, action: str) -> None:
        self.stocktake_id = stocktake_id
        """The stocktake concerned."""
        self.state = state
        """Its current state."""
        self.action = action
        """What was attempted (``"approve"``, ``"add lines"`` ...)."""
        super().__init__(f"stocktake {stocktake_id!r} is {state}: cannot {action}")


class UnknownStocktakeError(StocktakeError):
    """No stocktake with that id exists in the store."""

    def __init__(self, stocktake_id: str) -> None:
        self.stocktake_id = stocktake_id
        """The id asked for."""
        super().__init__(f"no stocktake with id {stocktake_id!r}")


class CountLineError(StocktakeError):
    """A count line the stocktake refuses: outside its scope, a bad recount, a reused line id."""

    def __init__(self, line_id: str, reason: str) -> None:
        self.line_id = line_id
        """The offending line."""
        self.reason = reason
        """What is wrong with it."""
        super().__init__(f"count line {line_id!r} refused: {reason}")


class FourEyesError(StocktakeError):
    """The approver is the stocktake's creator or counted one of the lines to approve."""

    def __init__(self, stocktake_id: str, approver: str, reason: str) -> None:
        self.stocktake_id = stocktake_id
        """The stocktake concerned."""
        self.approver = approver
        """Who tried to approve."""
        self.reason = reason
        """Why they may not."""
        super().__init__(f"{approver!r} may not approve stocktake {stocktake_id!r}: {reason}")


class ApprovalRefusedError(StocktakeError):
    """Approval refused for a reason other than four eyes: recounts pending, reasons missing."""

    def __init__(
        self,
        stocktake_id: str,
        reason: str,
        keys: tuple[tuple[object, object, object], ...] = (),
    ) -> None:
        self.stocktake_id = stocktake_id
        """The stocktake concerned."""
        self.reason = reason
        """Why approval was refused."""
        self.keys = keys
        """The stock keys ``(item, location, status)`` concerned."""
        shown = ", ".join(
            f"{item} at {location} [{getattr(status, 'value', status)}]"
            for item, location, status in keys[:_SHOWN]
        )
        more = " ..." if len(keys) > _SHOWN else ""
        suffix = f" ({shown}{more})" if keys else ""
        super().__init__(f"stocktake {stocktake_id!r} cannot be approved: {reason}{suffix}")


# --------------------------------------------------------------------------- storage


class StorageError(MedinvError):
    """A store failed; raised only by stores, translating their driver's exceptions."""


class ConcurrencyError(StorageError):
    """Another writer changed the data this write depended on; retry the whole operation."""

    def __init__(self, message: str, *, expected: object = None, actual: object = None) -> None:
        self.expected = expected
        """The version (ledger position) the writer expected."""
        self.actual = actual
        """The version found."""
        super().__init__(message)
