"""Pytest fixtures for the client tests (loaded by tests/conftest.py).

- `isolated_environment` (autouse, every test of the suite): no VITEC_* variable from the
  developer's shell, an empty in-memory keyring, and VITEC_NB_CACHE pointing into the
  test's own temporary folder, so nothing reads or writes the developer's real credentials
  or cache.
- `make_client(standin, **kw)`: a connected client with the stand-in's demo account and a
  fresh SQLite cache in tmp_path; closed at the end of the test.
- `client`: `make_client(standin)` for the shared session stand-in.
- `age_cache(client)`: make every cached answer expired (as if an hour had passed),
  through requests-cache's own API — no clock games, no sleeps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import vitec_nb
from vitec_nb.client import VitecClient
from vitec_nb.standin import StandIn


class _EmptyKeyring:
    """Built lazily (keyring imports are not free): see `isolated_environment`."""

    cls: type | None = None

    @classmethod
    def new(cls) -> Any:
        if cls.cls is None:
            import keyring.backend

            class MemoryKeyring(keyring.backend.KeyringBackend):
                """A keyring in a dict: keyring's own extension API, no desktop service."""

                priority = 1  # type: ignore[assignment]

                def __init__(self) -> None:
                    super().__init__()
                    self.store: dict[tuple[str, str], str] = {}

                def get_password(self, service: str, username: str) -> str | None:
                    return self.store.get((service, username))

                def set_password(self, service: str, username: str, password: str) -> None:
                    self.store[(service, username)] = password

                def delete_password(self, service: str, username: str) -> None:
                    self.store.pop((service, username), None)

            cls.cls = MemoryKeyring
        return cls.cls()


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Every test: no VITEC_* env, an empty in-memory keyring, a private VITEC_NB_CACHE.

    Yields the in-memory keyring backend (tests may store entries in it).
    """
    import keyring

    for name in list(os.environ):
        if name.startswith("VITEC_"):
            monkeypatch.delenv(name)
    cache_dir = tmp_path_factory.mktemp("vitec_nb_cache")
    monkeypatch.setenv("VITEC_NB_CACHE", str(cache_dir / "http_cache.sqlite"))
    previous = keyring.get_keyring()
    backend = _EmptyKeyring.new()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., VitecClient]]:
    """Factory: `make_client(standin, **connect_kwargs)` -> a client on a fresh tmp cache.

    Defaults: the stand-in's demo account, cache ``tmp_path/cache/http_cache.sqlite``,
    no backoff between retries (tests do not wait unless they ask to).
    """
    made: list[VitecClient] = []

    def make(standin: StandIn, **kw: Any) -> VitecClient:
        kw.setdefault("base_url", standin.url)
        kw.setdefault("username", standin.username)
        if "passwords" not in kw:
            kw.setdefault("password", standin.password)
        kw.setdefault("cache", tmp_path / "cache" / "http_cache.sqlite")
        kw.setdefault("backoff_factor", 0)
        client = vitec_nb.connect(**kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(standin: StandIn, make_client: Callable[..., VitecClient]) -> VitecClient:
    """A client of the shared stand-in with its own fresh cache."""
    return make_client(standin)


def age_cache(client: VitecClient) -> int:
    """Expire every cached answer (re-saved with an expiry in the past); returns how many."""
    backend = client.session.cache
    keys = list(backend.responses.keys())
    past = datetime.now(UTC) - timedelta(hours=1)
    for key in keys:
        response = backend.get_response(key)
        assert response is not None
        response.expires = past
        backend.responses[key] = response
    return len(keys)


def cache_files(folder: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file below folder: the SQLite file, -wal, -shm and the secret."""
    return [(str(p), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]
