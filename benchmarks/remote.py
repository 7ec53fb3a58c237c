"""The stand-in in its own process, driven through a pipe, so it behaves like a remote API.

In the benchmark's own process the stand-in's work (filtering, rendering 10 MB bodies,
sending them) would compete with the client for the GIL, which a real Vitec Connect does
not do. The child process runs an ordinary `StandIn`; `RemoteStandIn` offers the part of
its surface the benchmarks use: url, username, password, customer_ids, truth, agents,
requests, clear_requests(), max_in_flight, set_faults().
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection, kwargs: dict[str, Any], truth: bool = True) -> None:
    """Child process: run a StandIn and answer commands until told to stop.

    `truth` False leaves the ground truth in the child (a million rows with their tuples
    and dicts take seconds to send through the pipe).
    """
    from vitec_nb.standin import StandIn

    with StandIn(**kwargs) as s:
        conn.send(
            {
                "url": s.url,
                "username": s.username,
                "password": s.password,
                "customer_ids": list(s.customer_ids),
                "truth": s.truth if truth else None,
                "agents": s.agents,
            }
        )
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            try:
                if command == "requests":
                    conn.send(("ok", list(s.requests)))
                elif command == "max_in_flight":
                    conn.send(("ok", s.max_in_flight))
                elif command == "clear_requests":
                    s.clear_requests()
                    conn.send(("ok", None))
                elif command == "set_faults":
                    s.set_faults(**args)
                    conn.send(("ok", None))
                else:
                    conn.send(("error", f"unknown command {command!r}"))
            except Exception as exc:  # report to the parent rather than dying silently
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    conn.send(("ok", None))


class RemoteStandIn:
    """A `StandIn` in a child process; a context manager like the real one."""

    def __init__(self, *, truth: bool = True, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._want_truth = truth
        self._conn: Connection | None = None
        self._process: Any = None

    def __enter__(self) -> RemoteStandIn:
        ctx = mp.get_context("spawn")  # a clean interpreter: no threads or locks inherited
        parent, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child, self._kwargs, self._want_truth), daemon=True
        )
        self._process.start()
        self._conn = parent
        while not parent.poll(1.0):  # a child that died (e.g. at import) never answers
            if not self._process.is_alive():
                raise RuntimeError(
                    f"the stand-in process exited (code {self._process.exitcode}) before "
                    "it started; run the benchmark as a script (`if __name__ == '__main__'`)"
                )
        info = parent.recv()
        self.url: str = info["url"]
        self.username: str = info["username"]
        self.password: str = info["password"]
        self.customer_ids: list[str] = info["customer_ids"]
        self.truth = info["truth"]
        self.agents = info["agents"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.send(("stop", None))
            self._conn.recv()
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()

    def _call(self, command: str, args: Any = None) -> Any:
        assert self._conn is not None, "use RemoteStandIn as a context manager"
        self._conn.send((command, args))
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"stand-in process: {value}")
        return value

    @property
    def requests(self) -> list[Any]:
        """The child's request log, oldest first."""
        return self._call("requests")

    def clear_requests(self) -> None:
        self._call("clear_requests")

    @property
    def max_in_flight(self) -> int:
        """The most requests the child answered at once since the last clear_requests()."""
        return self._call("max_in_flight")

    def set_faults(self, **switches: Any) -> None:
        self._call("set_faults", switches)
