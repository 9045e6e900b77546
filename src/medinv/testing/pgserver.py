"""A throwaway PostgreSQL server for tests and benchmarks: a private cluster in a temp dir.

medinv's own test suite uses it (``tests/conftest.py``) to run the store contract
suite against a real PostgreSQL when ``MEDINV_TEST_POSTGRES_DSN`` is not set; an
integrator can use it the same way for their own tests.

[`ThrowawayPostgres`][medinv.testing.pgserver.ThrowawayPostgres] runs ``initdb`` into
a fresh temporary directory, starts ``postgres`` listening only on a Unix socket in
that directory (no TCP port, so runs never collide), with ``trust`` authentication
and durability switched off for speed (``fsync``, ``synchronous_commit`` and
``full_page_writes`` off: a crash of the *server* may lose data, which a throwaway
test cluster does not care about; a killed *client* still loses nothing committed),
creates one database and gives its DSN. Leaving the ``with`` block stops the server
and deletes the directory, also when the block raised.

PostgreSQL refuses to run as ``root``. When the current process is root, the server
runs as an unprivileged account instead: ``MEDINV_TEST_POSTGRES_USER`` if set, else
``postgres`` if that account exists, else ``nobody``; the temp dir is handed to it.

The server binaries are found by
[`find_bindir`][medinv.testing.pgserver.find_bindir]: ``MEDINV_TEST_POSTGRES_BIN``,
then ``initdb`` on ``PATH``, then the usual Debian and Red Hat install directories.

```pycon
>>> from medinv.testing.pgserver import ThrowawayPostgres, find_bindir
>>> if find_bindir() is not None:  # doctest: +SKIP
...     with ThrowawayPostgres() as server:
...         print(server.dsn)
host=/tmp/medinv-pg-... port=5432 user=medinv dbname=medinv_test

```
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import NoReturn, Self

from medinv.errors import StorageError

__all__ = ["ThrowawayPostgres", "find_bindir", "no_server", "server_version"]

BIN_ENV = "MEDINV_TEST_POSTGRES_BIN"
"""Environment variable naming the directory that holds ``initdb``, ``pg_ctl``, ``postgres``."""

USER_ENV = "MEDINV_TEST_POSTGRES_USER"
"""Environment variable naming the account the server runs as when the caller is root."""

_BINARIES = ("initdb", "pg_ctl", "postgres", "createdb")
_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")

FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "60",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}
"""Server settings of the throwaway cluster: fast, not crash-safe (a test cluster is disposable)."""

_PORT = 5432
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.5432" follows the directory


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory holding the PostgreSQL server binaries, or ``None`` if there is none.

    Args:
        environ: Environment to read ``MEDINV_TEST_POSTGRES_BIN`` and ``PATH`` from
            (default ``os.environ``).

    Returns:
        A directory with executable ``initdb``, ``pg_ctl``, ``postgres`` and
        ``createdb``; the
        highest version when several are installed side by side.
    """
    env = os.environ if environ is None else environ
    candidates: list[str] = []
    if env.get(BIN_ENV):
        candidates.append(env[BIN_ENV])
    on_path = shutil.which("initdb", path=env.get("PATH", os.defpath))
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for pattern in _BIN_GLOBS:
        matches = [str(p) for p in Path("/").glob(pattern.lstrip("/"))]
        candidates.extend(sorted(matches, key=_version_key, reverse=True))
    for candidate in candidates:
        directory = Path(candidate)
        if all(os.access(directory / name, os.X_OK) for name in _BINARIES):
            return directory
    return None


def no_server(dsn_variable: str, *, ci: bool) -> NoReturn:
    """In a pytest fixture that found no PostgreSQL: skip the test, or fail it under CI.

    Locally a missing server skips the PostgreSQL tests; in continuous integration
    (``ci=True``, e.g. ``CI=true`` in the environment) it fails them, so that a run
    that silently tested nothing on PostgreSQL cannot pass.

    Args:
        dsn_variable: the environment variable that would have named a server.
        ci: whether the run is a CI run.
    """
    import pytest  # noqa: PLC0415  (pytest comes with medinv[testing]; only fixtures call this)

    reason = f"no PostgreSQL: {dsn_variable} is not set and no server binaries (initdb) were found"
    if ci:
        pytest.fail(f"{reason}; under CI=true PostgreSQL is required", pytrace=False)
    pytest.skip(reason)


def server_version(bindir: Path) -> str:
    """The version ``postgres --version`` reports, e.g. ``"15.18"``.

    Raises:
        StorageError: The binary does not run or says something unexpected.
    """
    try:
        out = subprocess.run(  # noqa: S603  (a PostgreSQL binary found by find_bindir)
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise StorageError(f"cannot run {bindir / 'postgres'} --version: {e}") from e
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    if match is None:
        raise StorageError(f"unexpected output of {bindir / 'postgres'} --version: {out!r}")
    return match.group(1)


def _unprivileged_account(environ: Mapping[str, str]) -> pwd.struct_passwd:
    wanted = [environ[USER_ENV]] if environ.get(USER_ENV) else ["postgres", "nobody"]
    for name in wanted:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise StorageError(
        f"PostgreSQL refuses to run as root and none of the accounts {wanted} exists; "
        f"create one (useradd --system medinv-test) and set {USER_ENV}"
    )


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary directory, as a context manager.

    Args:
        bindir: Directory of ``initdb``/``pg_ctl``/``postgres``; default
            [`find_bindir()`][medinv.testing.pgserver.find_bindir].
        database: Name of the database created for the caller.
        settings: Extra server settings, on top of
            [`FAST_SETTINGS`][medinv.testing.pgserver.FAST_SETTINGS].
        startup_timeout: Seconds to wait for the server to accept connections.
        environ: Environment to read the configuration variables from (default
            ``os.environ``).

    Raises:
        StorageError: No server binaries were found (on construction), or the
            cluster failed to initialise or start (on ``start``; the message holds
            the server log's tail).
    """

    superuser = "medinv"
    """The cluster's superuser role (trust authentication: no password)."""

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        database: str = "medinv_test",
        settings: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        found = bindir if bindir is not None else find_bindir(env)
        if found is None:
            raise StorageError(
                "no PostgreSQL server binaries (initdb, pg_ctl, postgres, createdb) found on PATH, "
                f"in {', '.join(_BIN_GLOBS)} or in ${BIN_ENV}; install PostgreSQL "
                "(Debian: apt-get install postgresql)"
            )
        self.bindir = found
        """Where the server binaries are."""
        self.database = database
        """The database created for the caller."""
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        """Server settings written to ``postgresql.conf``."""
        self.startup_timeout = startup_timeout
        """Seconds to wait for the server."""
        self._account = _unprivileged_account(env) if os.geteuid() == 0 else None
        self._root: Path | None = None

    # ------------------------------------------------------------------ paths and dsn

    @property
    def directory(self) -> Path:
        """The temporary directory (data in ``data/``, socket and ``server.log`` beside it).

        Raises:
            StorageError: The server is not started.
        """
        if self._root is None:
            raise StorageError("the throwaway PostgreSQL server is not started")
        return self._root

    @property
    def dsn(self) -> str:
        """The libpq connection string of the created database (Unix socket, trust auth)."""
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        """The libpq connection string of another database of this cluster."""
        return f"host={self.directory} port={_PORT} user={self.superuser} dbname={database}"

    # ------------------------------------------------------------------ life cycle

    def start(self) -> str:
        """Create the cluster, start the server, create the database; return its DSN.

        On failure everything created so far is removed again.
        """
        if self._root is not None:
            return self.dsn
        self._root = self._make_root()
        try:
            self._initdb()
            self._run(self._pg_ctl("start", "-w", "-t", str(int(self.startup_timeout))))
            self._run(
                [
                    str(self.bindir / "createdb"),
                    *("-h", str(self._root), "-p", str(_PORT), "-U", self.superuser),
                    self.database,
                ]
            )
        except BaseException:
            self.stop()
            raise
        return self.dsn

    def stop(self) -> None:
        """Stop the server (fast, then immediate, then SIGKILL) and delete the directory."""
        root, self._root = self._root, None
        if root is None:
            return
        data = root / "data"
        if (data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                command = [str(self.bindir / "pg_ctl"), "-D", str(data), "stop", "-m", mode, "-w"]
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    if self._spawn(command, cwd=root, timeout=60).returncode == 0:
                        break
            else:
                _kill_postmaster(data)
        shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers

    def _make_root(self) -> Path:
        base = tempfile.gettempdir()
        if len(base) > _SOCKET_PATH_MAX - 40:  # a long $TMPDIR would overflow sun_path
            base = "/tmp"  # noqa: S108  (a private mkdtemp directory below it)
        root = Path(tempfile.mkdtemp(prefix="medinv-pg-", dir=base))
        if self._account is not None:
            os.chown(root, self._account.pw_uid, self._account.pw_gid)
        return root

    def _spawn(
        self, command: list[str], *, cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool in the temp dir, as the unprivileged account when root."""
        account = self._account
        return subprocess.run(  # noqa: S603  (PostgreSQL's own tools, fixed arguments)
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
            timeout=timeout,
            user=None if account is None else account.pw_uid,
            group=None if account is None else account.pw_gid,
            extra_groups=None if account is None else [],
        )

    def _initdb(self) -> None:
        root = self.directory
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                self.superuser,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        lines = {
            **self.settings,
            "listen_addresses": "''",
            "port": str(_PORT),
            "unix_socket_directories": f"'{root}'",
        }
        with (root / "data" / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# medinv throwaway test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in lines.items())

    def _pg_ctl(self, *args: str) -> list[str]:
        root = self.directory
        return [
            str(self.bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "server.log"),
            *args,
        ]

    def _run(self, command: list[str]) -> None:
        root = self.directory
        try:
            done = self._spawn(command, cwd=root, timeout=self.startup_timeout + 30)
        except (OSError, subprocess.SubprocessError) as e:
            raise StorageError(f"throwaway PostgreSQL: {Path(command[0]).name} failed: {e}") from e
        if done.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise StorageError(
                f"throwaway PostgreSQL: {Path(command[0]).name} exited with {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
                + (f"\nserver log:\n{tail}" if tail else "")
            )


def _kill_postmaster(data: Path) -> None:
    """Last resort: SIGKILL the postmaster named in ``postmaster.pid``."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
