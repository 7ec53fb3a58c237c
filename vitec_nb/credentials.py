"""The user name and per-office passwords (or Vitec's tokens), and the cache keys' tag.

Vitec issues one user name per partner and a password per customer id (office), so a
`Credentials` holds a user name, an optional password for every office and a mapping of
per-office passwords. Vitec's portal also shows the ready base64 string of
``user:password`` (a "token"): `decode_token` turns it into the same pair, and the bytes
sent are exactly the token's. Its repr never shows a password.

The credential tag is a slow, keyed, one-way digest of (user name, password): it makes a
cached answer reachable only with the credential that fetched it, and a stolen cache file
plus its secret is still no cheap oracle for guessing the password.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from vitec_nb.errors import ConfigurationError, InvalidQueryError

__all__ = [
    "KEYRING_SERVICE",
    "CredentialTagger",
    "Credentials",
    "credential_tag",
    "decode_token",
]

KEYRING_SERVICE = "vitec_nb"

# scrypt cost: about 16 MiB and a few tens of milliseconds per credential, computed once per
# credential and process. Slow enough that guessing passwords against a stolen cache file and
# its secret costs real work; fast enough not to be noticed when connecting.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_TAG_BYTES = 16


def credential_tag(username: str, password: str, secret: bytes) -> str:
    """A hex tag of (username, password) keyed by `secret`; not reversible, slow to guess.

    The same credential and secret always give the same tag, so a cache shared by several
    processes (SQLite file or Redis) finds the answers fetched with that credential.
    """
    material = username.encode("utf-8") + b"\x00" + password.encode("utf-8")
    digest = hashlib.scrypt(
        material,
        salt=secret,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=_TAG_BYTES,
    )
    return digest.hex()


# Tags derived in this process, shared by every tagger (so every `connect()` on the same
# cache reuses them): (secret digest, header digest) -> tag. Digests only, no password.
_TAGS: dict[tuple[str, str], str] = {}
_TAGS_LOCK = threading.Lock()


class CredentialTagger:
    """Maps an Authorization header to its credential tag, deriving each tag once per process.

    The memo is keyed by SHA-256 digests of the secret and the header, so it holds no second
    copy of a password. Thread-safe: the planner's worker threads share it through the cache
    key function.
    """

    ANONYMOUS = "anon"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._secret_id = hashlib.sha256(secret).hexdigest()
        self._lock = _TAGS_LOCK

    def __repr__(self) -> str:
        return "<CredentialTagger>"

    def tag_for_header(self, authorization: str | bytes | None) -> str:
        """The tag of a `Basic` Authorization header value; "anon" when there is none."""
        if not authorization:
            return self.ANONYMOUS
        if isinstance(authorization, str):
            authorization = authorization.encode("latin-1")
        memo_key = (self._secret_id, hashlib.sha256(authorization).hexdigest())
        tag = _TAGS.get(memo_key)
        if tag is None:
            # Derive under the lock: eight threads starting at once derive it once, not 8x.
            with self._lock:
                tag = _TAGS.get(memo_key)
                if tag is None:
                    username, password = _split_basic(authorization)
                    tag = _TAGS[memo_key] = credential_tag(username, password, self._secret)
        return tag


def _split_basic(authorization: bytes) -> tuple[str, str]:
    """(user, password) from a Basic header value; any other scheme is tagged as a whole."""
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() == b"basic":
        try:
            pair = base64.b64decode(token)
        except ValueError:
            pair = None
        if pair is not None:
            try:
                text = pair.decode("utf-8")
            except UnicodeDecodeError:
                text = pair.decode("latin-1")  # requests' default encoding for Basic auth
            user, _, password = text.partition(":")
            return user, password
    return "", authorization.decode("latin-1")


def decode_token(token: object, where: str) -> tuple[str, str, str]:
    """(user, password, codec) from Vitec's base64 of ``user:password``; the token is never
    repeated in the ConfigurationError naming `where` when it is not one.

    The codec is the text encoding the token's bytes are in (UTF-8, else Latin-1), so
    `Credentials.basic_auth_for` sends exactly those bytes again.
    """
    if not isinstance(token, str):
        raise ConfigurationError(
            f"{where}: a token must be text (the base64 string of user:password from Vitec's"
            f" portal), not {type(token).__name__}"
        )
    compact = "".join(token.split())
    try:
        pair = base64.b64decode(compact, validate=True)
    except ValueError:
        pair = None
    if not pair:
        raise ConfigurationError(
            f"{where}: the token is not base64 (allowed: the base64 string of user:password"
            " as Vitec's portal shows it; the value is not repeated here)"
        )
    try:
        text, codec = pair.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, codec = pair.decode("latin-1"), "latin-1"
    user, colon, password = text.partition(":")
    if not colon or not user or not password or _has_control(text):
        raise ConfigurationError(
            f"{where}: the token does not decode to user:password (a user name, a colon and"
            " a password, no control characters; the value is not repeated here)"
        )
    return user, password, codec


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _mask(value: str | None) -> str:
    return "None" if value is None else "***"


@dataclass(frozen=True, repr=False)
class Credentials:
    """A user name, an optional password for every office and per-office passwords.

    `sources` says where each part came from (e.g. ``{"username": "VITEC_USERNAME"}``), for
    messages; it never holds a secret. `codecs` maps an office (``"*"``: the password for
    every office) whose password came from a token to the token's text encoding, so the
    bytes sent are the token's own.
    """

    username: str
    password: str | None = None
    passwords: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    codecs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Freeze the mappings so a shared Settings cannot be changed behind the client's back.
        object.__setattr__(self, "passwords", MappingProxyType(dict(self.passwords)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "codecs", MappingProxyType(dict(self.codecs)))

    def __repr__(self) -> str:
        offices = ", ".join(f"{cid}=***" for cid in sorted(self.passwords))
        return (
            f"Credentials(username={self.username!r}, password={_mask(self.password)}, "
            f"passwords={{{offices}}})"
        )

    __str__ = __repr__

    @property
    def customer_ids(self) -> tuple[str, ...]:
        """Offices with a password of their own, sorted."""
        return tuple(sorted(self.passwords))

    def has_password_for(self, customer_id: str) -> bool:
        """Whether a request for this office can be authenticated."""
        return customer_id in self.passwords or self.password is not None

    def auth_for(self, customer_id: str) -> tuple[str, str]:
        """(user name, password) for one office; InvalidQueryError when there is none.

        The error is raised before any request and names the offices that do have one.
        """
        password = self.passwords.get(customer_id, self.password)
        if password is None:
            allowed = ", ".join(self.customer_ids) or "none configured"
            raise InvalidQueryError(
                "customer_id",
                f"no password is configured for office {customer_id}; pass passwords="
                f"{{'{customer_id}': ...}} to connect(), set VITEC_PASSWORD_{customer_id}, or "
                f"store one with `python -m keyring set {KEYRING_SERVICE} "
                f"{self.username}@{customer_id}`",
                allowed=allowed,
            )
        return self.username, password

    def basic_auth_for(self, customer_id: str) -> tuple[str | bytes, str | bytes]:
        """`auth_for` ready for requests: Latin-1 when it fits (requests' default), else UTF-8.

        requests encodes Basic credentials as Latin-1 and fails on anything outside it
        (e.g. "€"); such credentials are sent as UTF-8 instead. A password from a token is
        sent in the token's own encoding, byte for byte.
        """
        user, password = self.auth_for(customer_id)
        codec = self.codecs.get(customer_id if customer_id in self.passwords else "*")
        if codec is not None:
            return user.encode(codec), password.encode(codec)
        try:
            user.encode("latin-1"), password.encode("latin-1")
            return user, password
        except UnicodeEncodeError:
            return user.encode("utf-8"), password.encode("utf-8")
