"""Opening a ledger for a command: ``--db PATH`` (SQLite) or ``--dsn DSN`` (PostgreSQL).

Every operations command takes the same options (`add_store_options`) and opens its
store with `open_store`. The commands only read: an SQLite path that does not exist
is refused (never created as an empty ledger), a PostgreSQL schema that does not
exist is refused (never created), and a ledger whose schema is older than this medinv
is refused rather than migrated (open it once with the library to migrate it). A
PostgreSQL session is switched to read-only transactions after opening; SQLite has
no such mode for a WAL file, but a current ledger is opened without writing.

Errors a command reports on its own (a bad option, a store that cannot be opened)
are `CommandError`: one line on standard error, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TextIO

from medinv.errors import MedinvError, StorageError
from medinv.ports import LedgerStore

__all__ = [
    "DSN_ENV",
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "add_store_options",
    "ledger_command",
    "one_line_errors",
    "open_store",
    "open_writable_store",
    "option_type",
    "run_command",
    "typed_option",
]

DSN_ENV = "MEDINV_DSN"
"""The environment variable read for a PostgreSQL DSN when neither option is given."""

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A command refused its arguments or could not open its store: exit code 2."""


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` report a bad argument in one line (no usage block), exit code 2."""
    parser.error = lambda message: _one_line_error(parser, message)  # type: ignore[method-assign]


def option_type(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a medinv converter: its error becomes the option's error."""

    def converted(text: str) -> Any:
        try:
            return convert(text)
        except MedinvError as e:  # says what was wrong, with the value
            raise argparse.ArgumentTypeError(str(e)) from None
        except (ValueError, TypeError) as e:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r:.80}: {e}") from None

    converted.__name__ = what  # argparse names the type in some messages
    return converted


def typed_option(
    parser: argparse.ArgumentParser,
    flag: str,
    convert: Callable[[str], Any],
    what: str,
    help_text: str,
    **more: Any,
) -> None:
    """Add ``flag`` whose value ``convert`` checks (its error names the option)."""
    parser.add_argument(flag, type=option_type(convert, what), help=help_text, **more)


def ledger_command(
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace, TextIO], int],
    json_help: str,
) -> None:
    """Set up an operations command: one-line errors, the ledger options, ``--json``, ``run``."""
    one_line_errors(parser)
    add_store_options(parser)
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.set_defaults(handler=lambda args, out: run_command(run, args, out))


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--db``, ``--dsn`` and ``--schema`` to a command's parser."""
    group = parser.add_argument_group("ledger")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="PATH", help="an existing SQLite ledger file")
    where.add_argument(
        "--dsn",
        metavar="DSN",
        help=f"a PostgreSQL connection string (default: ${DSN_ENV} when --db is not given)",
    )
    group.add_argument(
        "--schema",
        default="medinv",
        help="the PostgreSQL schema holding the ledger (default: medinv)",
    )


@contextlib.contextmanager
def open_store(args: argparse.Namespace) -> Iterator[LedgerStore]:
    """The store the options name, opened for reading, closed on exit.

    Raises:
        CommandError: no ledger named, the file or schema does not exist, is not a
            medinv ledger, or its schema is older or newer than this medinv.
    """
    if args.db is not None:
        with _open_sqlite(args.db) as store:
            yield store
        return
    dsn = args.dsn if args.dsn is not None else os.environ.get(DSN_ENV)
    if not dsn:
        raise CommandError(f"no ledger: give --db PATH or --dsn DSN (or set ${DSN_ENV})")
    with _open_postgres(dsn, args.schema) as store:
        yield store


@contextlib.contextmanager
def _open_sqlite(path: str) -> Iterator[LedgerStore]:
    from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore  # noqa: PLC0415
    from medinv.adapters.sqlite._schema import stored_version  # noqa: PLC0415

    file = Path(path)
    if not file.exists():
        raise CommandError(f"--db: no such file {path!r} (commands never create a ledger)")
    if not file.is_file():
        raise CommandError(f"--db: {path!r} is not a file")
    try:
        probe = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise CommandError(f"--db: cannot open {path!r}: {e}") from None
    try:
        version = stored_version(probe, path)
    except sqlite3.Error as e:
        raise CommandError(f"--db: {path!r} is not a medinv ledger: {e}") from None
    except StorageError as e:
        raise CommandError(f"--db: {e}") from None
    finally:
        probe.close()
    if version == 0:
        raise CommandError(f"--db: {path!r} holds no ledger")
    _check_version(version, SCHEMA_VERSION, f"the SQLite ledger {path!r}")
    with SqliteStore(path) as store:
        yield store


@contextlib.contextmanager
def _open_postgres(dsn: str, schema: str) -> Iterator[LedgerStore]:
    try:
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        from medinv.adapters.postgres import SCHEMA_VERSION, PostgresStore  # noqa: PLC0415
    except ImportError:
        raise CommandError(
            "--dsn: PostgreSQL needs the psycopg driver: pip install 'medinv[postgres]'"
        ) from None
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CommandError(f"--dsn: cannot connect: {first}") from None
    try:
        try:
            found = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                (sql.Identifier(schema, "schema_version").as_string(conn),),
            ).fetchone()
            version_row = None
            if found is not None and found[0]:
                version_row = conn.execute(
                    sql.SQL("SELECT coalesce(max(version), 0) FROM {}").format(
                        sql.Identifier(schema, "schema_version")
                    )
                ).fetchone()
        except psycopg.Error as e:
            raise CommandError(f"--schema: cannot read schema {schema!r}: {e}") from None
        if version_row is None or not version_row[0]:
            raise CommandError(
                f"--schema: no medinv ledger in schema {schema!r} (commands never create a ledger)"
            )
        _check_version(int(version_row[0]), SCHEMA_VERSION, f"schema {schema!r}")
        with PostgresStore(conn, schema=schema) as store:
            # Everything the command runs from here on is refused if it writes.
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            yield store
    finally:
        conn.close()


@contextlib.contextmanager
def open_writable_store(args: argparse.Namespace, *, create: bool) -> Iterator[Any]:
    """The store the options name, opened for writing, closed on exit.

    For the commands that write (``catalog import-gudid``, ``receive``). Opening
    creates the ledger's tables where they are missing and migrates an older schema,
    as the library does. An SQLite file that does not exist is created only when
    ``create`` is true.

    Raises:
        CommandError: no ledger named, the file is missing (and not ``create``) or not
            a file, or the store cannot be opened (the store's error, in one line).
    """
    try:
        if args.db is not None:
            from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415

            file = Path(args.db)
            if file.exists() and not file.is_file():
                raise CommandError(f"--db: {args.db!r} is not a file")
            if not create and not file.exists():
                raise CommandError(f"--db: no such file {args.db!r}")
            store: Any = SqliteStore(args.db)
        else:
            dsn = args.dsn if args.dsn is not None else os.environ.get(DSN_ENV)
            if not dsn:
                raise CommandError(f"no ledger: give --db PATH or --dsn DSN (or set ${DSN_ENV})")
            from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

            store = PostgresStore(dsn, schema=args.schema)
    except ImportError:
        raise CommandError(
            "--dsn: PostgreSQL needs the psycopg driver: pip install 'medinv[postgres]'"
        ) from None
    except MedinvError as e:
        raise CommandError(f"{'--db' if args.db is not None else '--dsn'}: {e}") from None
    with store:
        yield store


def _check_version(version: int, current: int, what: str) -> None:
    if version < current:
        raise CommandError(
            f"{what} has schema version {version}, older than this medinv's ({current}); "
            "the commands only read: open it once with the library to migrate it"
        )
    if version > current:
        raise CommandError(
            f"{what} has schema version {version}, newer than this medinv knows "
            f"({current}); upgrade medinv"
        )


def run_command(
    run: Callable[[argparse.Namespace, TextIO], int],
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    """Run a command; its `CommandError` or medinv error becomes one line and exit code 2.

    Interrupted (Ctrl-C), it says so in one line and exits with 130; piped into a
    command that stops reading (``| head``), it ends quietly.
    """
    try:
        code = run(args, out)
        out.flush()
    except (CommandError, MedinvError) as e:
        sys.stderr.write(f"medinv {args.command}: error: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(f"medinv {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Send the rest nowhere, so that the interpreter's final flush does not fail again.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return EXIT_OK
    return code
