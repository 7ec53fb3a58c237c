"""Pytest fixtures for the reliability tests (loaded by tests/conftest.py).

A throw-away `redis-server` on loopback for the team-cache tests; helpers that scan bytes
(cache files, Redis keys and values, logs, notebook outputs) for a password in every form
it could leak in; and `hostile`, a small HTTP server of the test's own on loopback that
answers however the test says (redirects, echoed headers, dribbled bodies, odd Retry-After,
error bodies in any shape), where the stand-in cannot play the part.
"""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.plugins.client import _EmptyKeyring

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: where it listens and how to reach it."""

    host: str
    port: int
    process: subprocess.Popen[str]

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self, db: int = 0):  # -> redis.Redis (imported lazily: an optional extra)
        import redis

        return redis.Redis(host=self.host, port=self.port, db=db)


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def _start_redis(tmp_dir: Path, unixsocket: Path | None = None) -> RedisServer:
    """Start redis-server in the foreground and return once it accepts connections.

    Readiness is read from the server's own log line, not guessed with a sleep. With
    `unixsocket` it also listens on that socket.
    """
    port = free_port()
    cmd = [
        REDIS_SERVER,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(tmp_dir),
        "--protected-mode", "yes",
        "--loglevel", "notice",
        "--daemonize", "no",
    ]  # fmt: skip
    if unixsocket is not None:
        cmd += ["--unixsocket", str(unixsocket), "--unixsocketperm", "700"]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_dir
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if "Ready to accept connections" in line:
            break
    else:
        process.wait()
        raise RuntimeError("redis-server did not start:\n" + "".join(seen[-20:]))
    # Keep draining the log so the server never blocks on a full pipe.
    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
    return RedisServer("127.0.0.1", port, process)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Debian's redis-server on 127.0.0.1 and a free port, no persistence, stopped at the end.

    Skips (with the reason) only when redis-server or the `redis` package is missing on
    this machine; in CI `.ci/setup --dev` installs both, and CI=1 turns the skip into a
    failure so the team-cache tests can never silently disappear there.
    """
    missing = None
    if not Path(REDIS_SERVER).exists():
        missing = "redis-server is not installed (apt-get install redis-server)"
    else:
        try:
            import redis  # noqa: F401
        except ImportError:
            missing = "the redis package is not installed (pip install -e '.[redis]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Redis tests: {missing}")
        pytest.skip(missing)
    server = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of an emptied Redis database for one test (`redis://127.0.0.1:PORT/0`)."""
    redis_server.client().flushdb()
    return redis_server.url()


# --- finding secrets --------------------------------------------------------------------


def secret_forms(username: str, password: str) -> list[bytes]:
    """Every form in which a password could leak: plain, URL-quoted, base64 of user:password.

    Also the bare base64 of the password and the Basic header value in both encodings a
    library might use, so a scan cannot miss a leak through an unexpected encoding.
    """
    pair = f"{username}:{password}".encode()
    forms = {
        password.encode(),
        password.encode("utf-16-le"),
        urllib.parse.quote(password, safe="").encode(),
        base64.b64encode(pair),
        base64.urlsafe_b64encode(pair),
        base64.b64encode(password.encode()),
    }
    return sorted(f for f in forms if f)


def find_secrets(blobs: Iterable[tuple[str, bytes]], forms: Iterable[bytes]) -> list[str]:
    """Names of the blobs that contain any of the forms (empty list: no leak)."""
    forms = list(forms)
    return [name for name, data in blobs if any(f in data for f in forms)]


def files_under(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file below path: SQLite databases with -wal and -shm included."""
    return [(str(p), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()]


def redis_dump(server: RedisServer, db: int = 0) -> list[tuple[str, bytes]]:
    """(key, key + value bytes) of every key in a Redis database, whatever its type."""
    r = server.client(db)
    out: list[tuple[str, bytes]] = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        parts: list[bytes] = [key]
        if kind == "string":
            parts.append(r.get(key) or b"")
        elif kind == "hash":
            for k, v in r.hgetall(key).items():
                parts += [k, v]
        elif kind == "list":
            parts += r.lrange(key, 0, -1)
        elif kind == "set":
            parts += list(r.smembers(key))
        elif kind == "zset":
            parts += [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
        else:
            parts.append(r.dump(key) or b"")
        out.append((key.decode("utf-8", "replace"), b"\n".join(parts)))
    return out


# --- a keyring for tests -----------------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    """The process's keyring replaced by an in-memory one for the test, restored afterwards."""
    import keyring

    previous = keyring.get_keyring()
    backend = _EmptyKeyring.new()  # the client plugin's in-memory keyring
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def clean_vitec_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No VITEC_* variable from the developer's shell leaks into the test."""
    for name in list(os.environ):
        if name.startswith("VITEC_"):
            monkeypatch.delenv(name)
    return monkeypatch


# --- reading a cache without the code under test -----------------------------------------


def sqlite_responses(folder: Path) -> list[tuple[str, bytes]]:
    """(key, stored bytes) of every cached response in every SQLite database below folder.

    Read with the sqlite3 module directly (read-only), not through requests-cache, so the
    check sees exactly the bytes another person sharing the file would load.
    """
    import sqlite3

    rows: list[tuple[str, bytes]] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.read_bytes()[:16] != b"SQLite format 3\x00":
            continue
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "responses" in tables:
                for key, value in con.execute("SELECT key, value FROM responses"):
                    data = value if isinstance(value, bytes) else str(value).encode()
                    rows.append((str(key), data))
        finally:
            con.close()
    return rows


def redis_responses(server: RedisServer, db: int = 0) -> list[tuple[str, bytes]]:
    """(key, stored bytes) of every cached response in a Redis database.

    requests-cache keeps responses as plain string keys `<namespace>:<cache key>` and
    redirects in a hash `<namespace>:redirects`; the strings are the responses.
    """
    r = server.client(db)
    out = []
    for key in r.scan_iter(count=1000):
        if r.type(key) == b"string":
            out.append((key.decode(), r.get(key) or b""))
    return out


def stored_body(stored: dict[str, Any]) -> bytes:
    """The body of one stored response (as the cache's JSON holds it), decoded independently.

    Plain base64 (requests-cache's orjson serializer), or "zstd:<size>:<base64>" for large
    bodies (vitec_nb.cache compresses those); `_decoded_content` if a decoding serializer
    wrote it.
    """
    import base64

    if stored.get("_decoded_content") is not None:
        import json

        return json.dumps(stored["_decoded_content"]).encode()
    text = stored.get("_content") or ""
    if not text.startswith("zstd:"):
        return base64.b64decode(text)
    import pyarrow as pa

    size, _, packed = text[len("zstd:") :].partition(":")
    return pa.Codec("zstd").decompress(
        base64.b64decode(packed), decompressed_size=int(size), asbytes=True
    )


@pytest.fixture
def private_redis(redis_server: RedisServer, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may stop (stopped at teardown too).

    Depends on `redis_server` only for its skip-or-fail check of the local installation.
    """
    server = _start_redis(tmp_path)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            server.process.wait(timeout=10)


# --- a hostile server of the test's own -------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One request as the hostile server saw it: when (time.monotonic), path, headers."""

    at: float
    path: str
    headers: dict[str, str]


@dataclass
class Reply:
    """What the hostile server sends back; `dribble` sends the body one byte per that many s."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line (server-side latency)
    dribble: float | None = None


Handler = Callable[[Arrival, int], Reply]  # (request, its number from 0) -> reply


@dataclass
class HostileServer:
    """An HTTP/1.1 server on 127.0.0.1 whose every answer comes from `handler`."""

    handler: Handler
    arrivals: list[Arrival] = field(default_factory=list)
    url: str = ""
    _server: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> HostileServer:
        owner = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                arrival = Arrival(time.monotonic(), self.path, dict(self.headers.items()))
                with owner._lock:
                    number = len(owner.arrivals)
                    owner.arrivals.append(arrival)
                reply = owner.handler(arrival, number)
                time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                headers.setdefault("Content-Length", str(len(reply.body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if reply.dribble is None:
                        self.wfile.write(reply.body)
                        return
                    for i in range(len(reply.body)):
                        self.wfile.write(reply.body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(reply.dribble)
                except OSError:  # the client hung up (e.g. at its deadline)
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [a.path for a in self.arrivals]


@pytest.fixture
def hostile() -> Iterator[Callable[[Handler], HostileServer]]:
    """Factory: `hostile(handler)` -> a started HostileServer, stopped after the test."""
    started: list[HostileServer] = []

    def make(handler: Handler) -> HostileServer:
        server = HostileServer(handler).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


EMPTY_CONTACTS = b'{"persons":[],"companies":[],"deceasedEstates":[]}'


@pytest.fixture
def unix_redis(redis_server: RedisServer) -> Iterator[Path]:
    """A redis-server of the test's own that listens on a unix socket; yields the socket path."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="vnb-redis-", dir="/tmp"))  # socket paths are short
    server = _start_redis(folder, unixsocket=folder / "redis.sock")
    try:
        yield folder / "redis.sock"
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
