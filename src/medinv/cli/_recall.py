"""``medinv recall open|status|reconcile|close|notify|respond``: run a recall campaign.

- ``open ID``: record a campaign (its scope: ``--device`` with ``--lot``, ``--serial``
  or ``--produced FIRST LAST``; ``--class``, ``--depth``, ``--at``, ``--by``,
  ``--reason``); ``--quarantine`` also moves all remaining stock in scope into
  ``RECALLED`` (running it again adds nothing). Writes to the ledger.
- ``status [ID]``: every campaign, or one with the parties and places its stock
  reached (patients by pseudonym only), its notifications, responses and closing.
- ``reconcile ID``: per lot, received, on hand by status, consumed per patient
  reference, distributed and returned per party, scrapped, written off and
  unaccounted, with the effectiveness; exit code 1 while units are unaccounted.
- ``close ID``: close after reconciling (``--reason`` and a closer other than the
  opener when units are unaccounted). Writes.
- ``notify ID``: record that a party (``--party KIND:id``) was told of the recall
  (``--at``, ``--by``, ``--channel``). Writes to the campaign, not the ledger.
- ``respond ID``: record a party's answer: acknowledged (or ``--not-acknowledged``)
  and, for one lot or serial of the scope (``--lot``, ``--serial``), the units it
  reports ``--on-hand``, ``--returned`` or ``--destroyed``. Writes to the campaign.

``--json`` prints one object (see the "Command line" reference).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TextIO

from medinv.cli import _json, _store
from medinv.cli._table import write_table
from medinv.dates import to_date, to_datetime
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.recall import (
    CampaignRecord,
    Exposure,
    LotReconciliation,
    Notification,
    QuarantineResult,
    RecallClass,
    RecallDepth,
    RecallScope,
    Reconciliation,
    Response,
    affected_parties,
    close_campaign,
    open_campaign,
    quarantine,
    reconcile,
)

__all__ = ["FORMAT", "configure", "reconciliation_data", "status_data"]

FORMAT = 1
"""The version of the ``--json`` objects; it changes only when a field changes meaning."""


def _pair(text: str) -> tuple[str, str]:
    lot, sep, day = text.partition("=")
    if not sep or not lot.strip():
        raise ValueError("expected LOT=YYYY-MM-DD")
    return lot.strip(), str(to_date(day.strip()))


def _count(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError("expected a whole number of units, 0 or more")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``recall`` subcommands to its parser."""
    _store.one_line_errors(parser)
    commands = parser.add_subparsers(dest="recall_command", required=True, metavar="ACTION")

    def command(name: str, run: Callable[[argparse.Namespace, TextIO], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text)
        _store.ledger_command(sub, run, "print one JSON object")
        return sub

    opening = command("open", _run_open, "open a campaign (and quarantine with --quarantine)")
    opening.add_argument("campaign", metavar="ID", help="the campaign's id")
    opening.add_argument("--device", required=True, help="the recalled device identifier")
    scope = opening.add_mutually_exclusive_group(required=True)
    scope.add_argument("--lot", action="append", help="a recalled lot (repeatable)")
    scope.add_argument("--serial", action="append", help="a recalled serial (repeatable)")
    scope.add_argument(
        "--produced", nargs=2, metavar=("FIRST", "LAST"), help="a production-date range"
    )
    option = _store.typed_option
    option(
        opening, "--production-date", _pair, "production date",
        "a lot's known production date, LOT=YYYY-MM-DD (repeatable, with --produced)",
        action="append", default=[],
    )  # fmt: skip
    option(
        opening, "--class", lambda t: RecallClass(t.strip().upper()), "recall class",
        "I, II or III", dest="recall_class", required=True,
    )  # fmt: skip
    option(
        opening, "--depth", lambda t: RecallDepth(t.strip().upper()), "depth",
        "wholesale, retail or user", required=True,
    )  # fmt: skip
    option(opening, "--at", to_datetime, "date-time", "when it opens (ISO 8601)", required=True)
    opening.add_argument("--by", required=True, help="who opens it")
    opening.add_argument("--reason", required=True, help="the hazard, in the notice's words")
    opening.add_argument("--reference", help="the manufacturer's or authority's reference")
    opening.add_argument(
        "--quarantine", action="store_true", help="move all remaining stock in scope to RECALLED"
    )

    status = command("status", _run_status, "every campaign, or one with its exposure")
    status.add_argument("campaign", metavar="ID", nargs="?", help="one campaign's id")

    rec = command("reconcile", _run_reconcile, "per-lot reconciliation (exit 1: unaccounted)")
    rec.add_argument("campaign", metavar="ID", help="the campaign's id")

    closing = command("close", _run_close, "close a campaign after reconciling it")
    closing.add_argument("campaign", metavar="ID", help="the campaign's id")
    option(closing, "--at", to_datetime, "date-time", "when it closes (ISO 8601)", required=True)
    closing.add_argument("--by", required=True, help="who closes (and signs the reason)")
    closing.add_argument("--reason", help="why units are left unaccounted (then required)")

    def answer(name: str, run: Callable[[argparse.Namespace, TextIO], int], text: str) -> Any:
        """A command recording something a party was told or answered: ID, party, when, who."""
        sub = command(name, run, text)
        sub.add_argument("campaign", metavar="ID", help="the campaign's id")
        sub.add_argument("--party", required=True, help="the party, KIND:id")
        option(sub, "--at", to_datetime, "date-time", "when (ISO 8601)", required=True)
        sub.add_argument("--by", required=True, help="who records it")
        return sub

    notifying = answer("notify", _run_notify, "record that a party was told of the recall")
    notifying.add_argument("--channel", help="how: letter, e-mail, phone...")

    responding = answer("respond", _run_respond, "record a party's answer and its figures")
    responding.add_argument("--lot", help="the lot the figures are of (of the campaign's device)")
    responding.add_argument("--serial", help="the serial the figures are of")
    for flag, text in (
        ("--on-hand", "units the party still holds, quarantined there"),
        ("--returned", "units it says it sent back"),
        ("--destroyed", "units it destroyed"),
    ):
        option(responding, flag, _count, "count", text, default=0)
    responding.add_argument(
        "--not-acknowledged", action="store_true", help="the party did not acknowledge the notice"
    )


# --------------------------------------------------------------------------- data


def _share(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _record_data(record: CampaignRecord) -> dict[str, Any]:
    c = record.campaign
    return {
        "id": c.id,
        "scope": str(c.scope),
        "class": c.recall_class.value,
        "depth": c.depth.value,
        "opened_at": c.opened_at.isoformat(),
        "opened_by": c.opened_by,
        "reason": c.reason,
        "reference": c.reference,
        "open": record.is_open,
        "notifications": [_json.json_value(n) for n in record.notifications],
        "responses": [_json.json_value(r) for r in record.responses],
        "closing": _json.json_value(record.closing),
    }


def _exposure_data(e: Exposure) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "key": e.key,
        "quantity": e.quantity,
        "first": e.first.isoformat(),
        "last": e.last.isoformat(),
        "lots": [_json.item_fields(lot) for lot in e.lots],
    }


def status_data(record: CampaignRecord, exposure: tuple[Exposure, ...] | None) -> dict[str, Any]:
    """The ``--json`` object of one campaign's status."""
    data = {"format": FORMAT, "campaign": _record_data(record)}
    if exposure is not None:
        data["affected"] = [_exposure_data(e) for e in exposure]
    return data


def _lot_data(lot: LotReconciliation) -> dict[str, Any]:
    return {
        **_json.item_fields(lot.item),
        "received": lot.received,
        "on_hand": {s.value: n for s, n in lot.on_hand},
        "consumed": dict(lot.consumed),
        "distributed": dict(lot.distributed),
        "returned": lot.returned,
        "returned_by": dict(lot.returned_by),
        "scrapped": lot.scrapped,
        "written_off": lot.written_off,
        "reported": dict(lot.reported),
        "outstanding": dict(lot.outstanding),
        "unaccounted": lot.unaccounted,
        "effectiveness": _share(lot.effectiveness),
    }


def reconciliation_data(result: Reconciliation) -> dict[str, Any]:
    """The ``--json`` object of a reconciliation."""
    return {
        "format": FORMAT,
        "campaign": result.campaign_id,
        "unaccounted": result.unaccounted,
        "effectiveness": _share(result.effectiveness),
        "lots": [_lot_data(lot) for lot in result.lots],
        "undetermined": [_json.item_fields(i) for i in result.undetermined],
    }


def _quarantine_data(result: QuarantineResult) -> dict[str, Any]:
    return {
        "quantity": result.quantity,
        "moved": [
            {
                **_json.item_fields(m.item),
                "location": str(m.location),
                "from_status": m.from_status.value,
                "quantity": m.quantity,
                "movement_id": m.movement_id,
            }
            for run in result.runs
            for m in run.moved
        ],
        "undetermined": [_json.item_fields(i) for i in result.undetermined],
    }


# --------------------------------------------------------------------------- runs


def _scope(args: argparse.Namespace) -> RecallScope:
    if args.lot:
        return RecallScope.of_lots(args.device, args.lot)
    if args.serial:
        return RecallScope.of_serials(args.device, args.serial)
    first, last = args.produced
    return RecallScope.produced_between(
        args.device, first, last, production_dates=tuple(args.production_date)
    )


def _emit(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, ensure_ascii=False) + "\n")


def _run_open(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_writable_store(args, create=False) as store:
        record = open_campaign(
            store.recalls,
            args.campaign,
            scope=_scope(args),
            recall_class=args.recall_class,
            depth=args.depth,
            opened_at=args.at,
            opened_by=args.by,
            reason=args.reason,
            reference=args.reference,
        )
        moved = None
        if args.quarantine:
            moved = quarantine(
                Ledger(store), store.recalls, args.campaign, actor=args.by, occurred_at=args.at
            )
    if args.json:
        data = status_data(record, None)
        data["quarantine"] = None if moved is None else _quarantine_data(moved)
        _emit(out, data)
        return _store.EXIT_OK
    c = record.campaign
    out.write(f"campaign {c.id}: class {c.recall_class.value}, depth {c.depth.value}, {c.scope}\n")
    if moved is not None:
        out.write(f"quarantined: {moved.quantity} unit(s) moved to RECALLED\n")
        rows = [
            [str(m.item), str(m.location), m.from_status.value, str(m.quantity)]
            for run in moved.runs
            for m in run.moved
        ]
        if rows:
            write_table(out, ["item", "location", "from", "quantity"], rows)
        out.writelines(
            f"undetermined (production date unknown): {item}\n" for item in moved.undetermined
        )
    return _store.EXIT_OK


def _run_status(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_store(args) as store:
        recalls: Any = getattr(store, "recalls", None)
        if recalls is None:  # pragma: no cover  (every shipped store has them)
            raise _store.CommandError("this store keeps no recall campaigns")
        if args.campaign is None:
            records = recalls.campaigns()
            if args.json:
                _emit(out, {"format": FORMAT, "campaigns": [_record_data(r) for r in records]})
                return _store.EXIT_OK
            rows = [
                [r.campaign.id, r.campaign.recall_class.value, r.campaign.depth.value,
                 str(r.campaign.scope), "open" if r.is_open else "closed"]
                for r in records
            ]  # fmt: skip
            write_table(out, ["campaign", "class", "depth", "scope", "state"], rows)
            return _store.EXIT_OK
        record = recalls.get(args.campaign)
        if record is None:
            raise _store.CommandError(f"no recall campaign {args.campaign!r}")
        exposure = affected_parties(Ledger(store), recalls, args.campaign)
    if args.json:
        _emit(out, status_data(record, exposure))
        return _store.EXIT_OK
    c = record.campaign
    state = "open" if record.is_open else "closed"
    out.write(
        f"campaign {c.id} ({state}): class {c.recall_class.value}, depth {c.depth.value}, "
        f"{c.scope}\nopened {c.opened_at.isoformat()} by {c.opened_by}: {c.reason}\n"
    )
    write_table(
        out,
        ["reached", "kind", "quantity", "first", "last"],
        [[e.key, e.kind, str(e.quantity), e.first.isoformat(), e.last.isoformat()]
         for e in exposure],
    )  # fmt: skip
    _write_answers(out, record)
    return _store.EXIT_OK


def _write_answers(out: TextIO, record: CampaignRecord) -> None:
    """The notifications and responses on record, one table each."""
    out.write(f"notifications: {len(record.notifications)}\n")
    if record.notifications:
        write_table(
            out,
            ["party", "notified", "by", "channel"],
            [[str(n.party), n.notified_at.isoformat(), n.by, n.channel or ""]
             for n in record.notifications],
        )  # fmt: skip
    out.write(f"responses: {len(record.responses)}\n")
    if record.responses:
        write_table(
            out,
            ["party", "responded", "by", "acknowledged", "item", "on hand", "returned",
             "destroyed"],
            [[str(r.party), r.responded_at.isoformat(), r.by, "yes" if r.acknowledged else "no",
              "" if r.item is None else str(r.item), str(r.on_hand), str(r.returned),
              str(r.destroyed)]
             for r in record.responses],
        )  # fmt: skip


def _run_reconcile(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_store(args) as store:
        result = reconcile(Ledger(store), store.recalls, args.campaign)  # type: ignore[attr-defined]
    code = _store.EXIT_FINDINGS if result.unaccounted else _store.EXIT_OK
    if args.json:
        _emit(out, reconciliation_data(result))
        return code
    rows = [
        [
            str(lot.item), str(lot.received), str(lot.on_hand_total), str(lot.consumed_total),
            str(lot.distributed_total), str(lot.returned), str(lot.scrapped),
            str(lot.written_off), str(lot.unaccounted),
        ]
        for lot in result.lots
    ]  # fmt: skip
    write_table(
        out,
        ["lot", "received", "on hand", "consumed", "distributed", "returned", "scrapped",
         "written off", "unaccounted"],
        rows,
    )  # fmt: skip
    share = _share(result.effectiveness)
    effectiveness = "n/a (nothing distributed)" if share is None else f"{share:.1%}"
    out.write(f"unaccounted: {result.unaccounted}; effectiveness: {effectiveness}\n")
    out.writelines(
        f"undetermined (production date unknown): {item}\n" for item in result.undetermined
    )
    return code


def _run_close(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_writable_store(args, create=False) as store:
        record = close_campaign(
            Ledger(store),
            store.recalls,
            args.campaign,
            closed_by=args.by,
            closed_at=args.at,
            reason=args.reason,
        )
    if args.json:
        _emit(out, status_data(record, None))
        return _store.EXIT_OK
    closing = record.closing
    assert closing is not None  # noqa: S101  (just closed)
    out.write(
        f"campaign {record.campaign.id} closed by {closing.closed_by}; "
        f"{closing.unaccounted} unit(s) unaccounted\n"
    )
    return _store.EXIT_OK


def _recorded(out: TextIO, args: argparse.Namespace, record: CampaignRecord, *, added: bool) -> int:
    """Print what ``notify`` or ``respond`` recorded (``added``: false when already on record)."""
    if args.json:
        data = status_data(record, None)
        data["recorded"] = added
        _emit(out, data)
        return _store.EXIT_OK
    what = "notification" if args.recall_command == "notify" else "response"
    state = "recorded" if added else "already on record (nothing added)"
    out.write(f"campaign {record.campaign.id}: {what} of {args.party} {state}\n")
    _write_answers(out, record)
    return _store.EXIT_OK


def _campaign(recalls: Any, campaign_id: str) -> CampaignRecord:
    record: CampaignRecord | None = recalls.get(campaign_id)
    if record is None:
        raise _store.CommandError(f"no recall campaign {campaign_id!r}")
    return record


def _run_notify(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_writable_store(args, create=False) as store:
        _campaign(store.recalls, args.campaign)
        notification = Notification(
            party=args.party, notified_at=args.at, by=args.by, channel=args.channel
        )
        added = store.recalls.notify(args.campaign, notification)
        record = _campaign(store.recalls, args.campaign)
    return _recorded(out, args, record, added=added)


def _run_respond(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_writable_store(args, create=False) as store:
        campaign = _campaign(store.recalls, args.campaign).campaign
        item = None
        if args.lot is not None or args.serial is not None:
            item = ItemKey(campaign.scope.device, lot=args.lot, serial=args.serial)
        response = Response(
            party=args.party,
            responded_at=args.at,
            by=args.by,
            acknowledged=not args.not_acknowledged,
            item=item,
            on_hand=args.on_hand,
            returned=args.returned,
            destroyed=args.destroyed,
        )
        added = store.recalls.respond(args.campaign, response)
        record = _campaign(store.recalls, args.campaign)
    return _recorded(out, args, record, added=added)
