"""The stand-in's `StandIn`: dataset, accounts, dialect, faults and request log, served.

A `ThreadingHTTPServer` on loopback (HTTP/1.1, keep-alive; wire.py) that answers like
Vitec Connect: the contact list, contact details and the lookups (routes.py), each request
handled as handling.py says. `StandIn` holds the dataset, the accounts, the dialect, the
fault switches and the request log, and is a context manager.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import pandas as pd

from vitec_nb.standin.data import Dataset, build_dataset
from vitec_nb.standin.dialect import Dialect, resolve_dialect
from vitec_nb.standin.faults import FaultInjector, Faults
from vitec_nb.standin.handling import DEMO_PASSWORD, DEMO_USERNAME, RequestHandling, RequestRecord
from vitec_nb.standin.wire import Handler, Server, Transfer

__all__ = ["DEMO_PASSWORD", "DEMO_USERNAME", "RequestRecord", "StandIn"]


class StandIn(RequestHandling):
    """A local Vitec Connect over a seeded synthetic CRM, for tests, demos and benchmarks.

        with StandIn(seed=0, contacts=10_000) as s:
            requests.get(f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
                         auth=(s.username, s.password), params={"LeadScore": 5})

    Args:
        seed: seeds the dataset (same seed and sizes, same data).
        contacts: total contacts over all offices (up to a million or so).
        offices: number of offices (M30011, M30012, ...) or a list of customer ids.
        latency: seconds added to each contact answer (a fault switch, see `set_faults`).
        throughput: bytes per second at which answers are sent (None: at once); a big
            answer then costs latency + bytes / throughput (a switch, see `set_faults`).
        dialect: a `Dialect` or a preset name from `DIALECTS` ("documented" by default):
            how the stand-in behaves where Vitec's docs are silent.
        port: port on 127.0.0.1; 0 picks a free one.
        agents: users per office (default 5-40, drawn per office; about a quarter of
            them are not public).
        now: the clock the data ends at (a date or an instant): its last day is the day
            before now's day (Stockholm); default $STANDIN_NOW, else the real current time.
        end: the last day of the data instead (give `now` or `end`, not both).
        extra_contacts: contacts placed at given instants on top of the drawn ones, e.g.
            ``[{"customer_id": "M30011", "created_at": "2025-03-31 23:59:59.999999"}]``
            (keys in `vitec_nb.standin.data.extra_columns`); the drawn data stays the same.
        fault_seed: seeds the fault randomness (error_rate etc.) for stable tests.
        username, password: the demo account, allowed on every office.
        **faults: initial fault switches (see `set_faults`).
    """

    def __init__(
        self,
        seed: int = 0,
        contacts: int = 10_000,
        offices: int | list[str] | tuple[str, ...] | None = None,
        latency: float = 0.0,
        port: int = 0,
        *,
        throughput: float | None = None,
        dialect: Dialect | str | None = None,
        agents: int | None = None,
        end: str | dt.date | None = None,
        now: Any = None,
        extra_contacts: Iterable[Mapping[str, Any]] = (),
        fault_seed: int | None = 0,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        host: str = "127.0.0.1",
        **faults: Any,
    ) -> None:
        self.seed = seed
        self.dataset: Dataset = build_dataset(
            seed, contacts, offices, agents=agents, end=end, now=now, extra=extra_contacts
        )
        self._dialect = resolve_dialect(dialect)
        self.dataset.rows("json", self._dialect.changed_at_offset)  # answers are slices of it
        self.username = username
        self.password = password
        self._host = host
        self._port = port
        self._accounts: dict[str, dict[str, str]] = {
            username: {cid: password for cid in self.dataset.customer_ids}
        }
        self._faults = FaultInjector(seed=fault_seed)
        self._faults.set(latency=latency, throughput=throughput, **faults)
        self._log: list[RequestRecord] = []
        self._transfers: list[Transfer] = []
        self._log_lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started = False

    # --- public surface -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:54321" (no trailing slash)."""
        if not self._started:
            raise RuntimeError(
                "The stand-in is not started: use `with StandIn() as s:` or s.start()."
            )
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def customer_ids(self) -> list[str]:
        return list(self.dataset.customer_ids)

    @property
    def truth(self) -> pd.DataFrame:
        """Ground truth, one row per contact (see docs/standin.md). Do not modify it."""
        return self.dataset.truth

    @property
    def agents(self) -> pd.DataFrame:
        """Every user: user_id, name, title, archived, public, customer_id (GetUser lists
        the public ones only, GetAllUsers all)."""
        return self.dataset.agents_frame.copy()

    @property
    def offices(self) -> pd.DataFrame:
        """Offices: customer_id, office_id, name, chain, chain_id, groups (group ids)."""
        return self.dataset.offices_frame.copy()

    @property
    def office_groups(self) -> pd.DataFrame:
        """The chain's office groups: id, name, offices (tuple of customer ids)."""
        return self.dataset.groups_frame.copy()

    @property
    def dialect(self) -> Dialect:
        """The dialect in force (see `vitec_nb.standin.DIALECTS`)."""
        return self._dialect

    def set_dialect(self, dialect: Dialect | str | None = None) -> Dialect:
        """Change the dialect while running (a `Dialect`, a preset name, or None for the
        documented one); returns it. Requests already being answered keep the old one."""
        new = resolve_dialect(dialect)
        self.dataset.rows("json", new.changed_at_offset)  # render before the first answer
        self._dialect = new
        return new

    @property
    def transfers(self) -> list[Transfer]:
        """Every answer paced by `throughput` since the last `clear_requests()`, oldest
        first: its size, the chunks' planned and actual send times (seconds)."""
        with self._log_lock:
            return list(self._transfers)

    @property
    def newsletter_lists(self) -> pd.DataFrame:
        """Newsletter lists: id, name, customer_id."""
        return self.dataset.lists_frame.copy()

    @property
    def custom_field_defs(self) -> pd.DataFrame:
        """Custom field definitions: name, label, type, valid_for (tuple of object types),
        customer_id. Fields valid for estates only can never match a contact."""
        return self.dataset.fields_frame.copy()

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (a copy)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log and restart `max_in_flight` from the requests open now."""
        with self._log_lock:
            self._log.clear()
            self._transfers.clear()
            self._max_in_flight = self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests received and not yet answered at one time, since the last
        `clear_requests()` (the client's real concurrency, as the server saw it)."""
        with self._log_lock:
            return self._max_in_flight

    @property
    def faults(self) -> Faults:
        """The fault switches in force."""
        return self._faults.faults

    def add_account(self, username: str, passwords: dict[str, str]) -> None:
        """Add (or replace) an account with one password per customer id it may see."""
        if not username or ":" in username:
            raise ValueError("username: must be non-empty and contain no ':'")
        unknown = sorted(set(passwords) - set(self.dataset.customer_ids))
        if unknown:
            raise ValueError(
                f"passwords: unknown customer ids {unknown}; this stand-in has "
                f"{', '.join(self.dataset.customer_ids)}"
            )
        with self._state_lock:
            self._accounts[username] = dict(passwords)

    def set_faults(self, seed: int | None = None, **switches: Any) -> Faults:
        """Change fault switches while running; no switches clears them all.

        Switches: latency, throughput, jitter, error_rate, error_status, retry_after,
        rate_limit_burst, truncate_rate, malformed_rate, slow_body, down, lookups (see
        `faults.Faults`).
        `seed` restarts the fault randomness. `down=True` closes the listening socket and
        open connections; `down=False` listens again on the same port.
        """
        new = self._faults.set(seed=seed, **switches)
        if self._started:
            with self._state_lock:
                if new.down and self._server is not None:
                    self._go_down()
                elif not new.down and self._server is None:
                    self._go_up()
        return new

    def start(self) -> StandIn:
        """Listen and serve in a background thread; returns self."""
        with self._state_lock:
            if self._started:
                return self
            self._stopping.clear()
            self._started = True
            if not self._faults.faults.down:
                self._go_up()
            elif self._port == 0:  # down from the start: reserve a port to come up on
                with socket.socket() as probe:
                    probe.bind((self._host, 0))
                    self._port = probe.getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and wait for the server thread."""
        with self._state_lock:
            if not self._started:
                return
            self._stopping.set()
            self._go_down()
            self._started = False

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._started else "not started"
        return (
            f"StandIn(seed={self.seed}, contacts={self.dataset.size}, "
            f"offices={self.dataset.customer_ids}, {where})"
        )

    # --- lifecycle ----------------------------------------------------------------------

    def _go_up(self) -> None:
        server = Server((self._host, self._port), Handler)
        server.standin = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"standin-{self._port}",
        )  # fmt: skip
        self._thread.start()

    def _go_down(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)
