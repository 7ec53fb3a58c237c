"""Launching the demo: JupyterLab on the explorer notebook, one line with its URL.

The notebooks are found relative to the package, ``Path(vitec_nb.__file__).parents[1] /
"notebooks"``: the repository checkout (an editable install), which is how the project is
run; a wheel would have to ship them as package data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import vitec_nb

__all__ = ["EXPLORER_NOTEBOOK", "NOTEBOOKS", "launch_demo"]

NOTEBOOKS = Path(vitec_nb.__file__).resolve().parents[1] / "notebooks"
EXPLORER_NOTEBOOK = NOTEBOOKS / "explore_contacts.ipynb"


def launch_demo(port: int | None = None, open_browser: bool = True, *, out: Any = None) -> int:
    """Start JupyterLab on the explorer notebook, open it, and wait until stopped (Ctrl-C).

    Prints one line: the notebook's own URL (not the Launcher's), with a token made for
    this run. JupyterLab's log goes to a file (named on that line), not the terminal. With
    no credentials in the environment the notebook runs against the built-in stand-in
    (demo data). Returns JupyterLab's exit status.
    """
    import secrets
    import tempfile
    import webbrowser

    out = out or sys.stdout
    port = port or _free_port()
    token = secrets.token_hex(16)
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}"]
    args += [f"--ServerApp.root_dir={NOTEBOOKS}", "--ServerApp.ip=127.0.0.1"]
    args += ["--ServerApp.port_retries=0", "--LabApp.news_url=None"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers: JupyterLab refuses root
        args.append("--allow-root")
    env = os.environ | {"JUPYTER_TOKEN": token}  # the token stays out of the process list
    log = Path(tempfile.mkstemp(prefix="vitec-nb-demo-", suffix=".log")[1])
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    previous = None
    if threading.current_thread() is threading.main_thread():
        # `kill` of this process must stop JupyterLab (and its kernels) too
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if _wait_until_serving(proc, log, f"127.0.0.1:{port}/lab"):
            url = f"http://127.0.0.1:{port}/lab/tree/{EXPLORER_NOTEBOOK.name}?token={token}"
            print(
                f"Contact explorer: {url}  (Ctrl-C stops it; server log: {log})",
                file=out,
                flush=True,
            )
            if open_browser:
                webbrowser.open(url)
        else:
            print(f"JupyterLab did not start; its log: {log}", file=out, flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(proc: subprocess.Popen[str], log: Path, needle: str) -> bool:
    """Copy the server's output to `log` (in a thread) until it says it serves `needle`."""
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        with log.open("a", encoding="utf-8") as handle:
            for line in proc.stdout:
                handle.write(line)
                handle.flush()
                if needle in line:
                    ready.set()
        ready.set()  # the server exited: stop waiting

    threading.Thread(target=pump, daemon=True).start()
    ready.wait()
    return proc.poll() is None and _accepts(needle.split("/")[0])


def _accepts(address: str, timeout: float = 30.0) -> bool:
    """True once `host:port` accepts a connection (the log line comes a moment before)."""
    import socket
    import time

    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False
