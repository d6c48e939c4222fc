"""The forward protocol's shared-key handshake, server side, with no I/O.

    server -> client  ["HELO", {"nonce": n, "auth": salt, "keepalive": true}]
    client -> server  ["PING", hostname, shared_key_salt,
                       sha512_hex(shared_key_salt + hostname + nonce + shared_key),
                       username, sha512_hex(auth_salt + username + password)]
    server -> client  ["PONG", ok, reason, server_hostname,
                       sha512_hex(shared_key_salt + server_hostname + nonce + shared_key)]

Every field of the PING is read as bytes: nothing in it is assumed to be
valid UTF-8. `auth` is empty unless users are configured.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

import msgpack

from logger.errors import HandshakeFailed


@dataclass(frozen=True)
class HandshakeSettings:
    """The secrets a forward client must prove it knows."""

    shared_key: bytes
    server_hostname: str = "workflow-logger"
    # username -> password; empty means no user authentication.
    users: dict[bytes, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:  # secrets never reach logs
        return (
            f"HandshakeSettings(server_hostname={self.server_hostname!r}, users={len(self.users)})"
        )


@dataclass(frozen=True)
class PingOutcome:
    """The verdict on a PING and the PONG to send back."""

    authenticated: bool
    reason: str
    pong: bytes


def _sha512_hex(*parts: bytes) -> bytes:
    digest = hashlib.sha512()
    for part in parts:
        digest.update(part)
    return digest.hexdigest().encode()


class ServerHandshake:
    """One connection's handshake: `helo()` first, then `check_ping(frame)`."""

    def __init__(
        self,
        settings: HandshakeSettings,
        nonce: bytes | None = None,
        auth_salt: bytes | None = None,
    ) -> None:
        self._settings = settings
        self._nonce = nonce if nonce is not None else os.urandom(16)
        if auth_salt is None:
            auth_salt = os.urandom(16) if settings.users else b""
        self._auth_salt = auth_salt

    def helo(self) -> bytes:
        options = {"nonce": self._nonce, "auth": self._auth_salt, "keepalive": True}
        return msgpack.packb(["HELO", options], use_bin_type=True)

    def check_ping(self, frame: bytes) -> PingOutcome:
        """Judge a PING frame. Raises HandshakeFailed only when the frame is
        not a PING at all; a wrong key gives an outcome with a PONG false."""
        try:
            ping = msgpack.unpackb(frame, raw=True, strict_map_key=False)
        except (ValueError, TypeError) as error:
            # TypeError: an array or map used as a map key cannot be hashed.
            raise HandshakeFailed(f"PING is not msgpack: {error}") from None
        if not (isinstance(ping, list) and len(ping) == 6 and ping[0] == b"PING"):
            raise HandshakeFailed("expected a PING of 6 elements")
        if not all(isinstance(part, bytes) for part in ping[1:]):
            raise HandshakeFailed("PING elements must be strings")
        _, hostname, key_salt, key_digest, username, password_digest = ping
        settings = self._settings
        expected = _sha512_hex(key_salt, hostname, self._nonce, settings.shared_key)
        if not hmac.compare_digest(expected, key_digest.lower()):
            return self._pong(False, "shared_key mismatch", key_salt)
        if settings.users:
            password = settings.users.get(username)
            if password is None:
                return self._pong(False, "username/password mismatch", key_salt)
            expected_password = _sha512_hex(self._auth_salt, username, password)
            if not hmac.compare_digest(expected_password, password_digest.lower()):
                return self._pong(False, "username/password mismatch", key_salt)
        return self._pong(True, "", key_salt)

    def _pong(self, ok: bool, reason: str, key_salt: bytes) -> PingOutcome:
        hostname = self._settings.server_hostname.encode()
        digest = (
            pong_digest(key_salt, hostname, self._nonce, self._settings.shared_key) if ok else b""
        )
        pong = msgpack.packb(
            ["PONG", ok, reason, self._settings.server_hostname, digest.decode()],
            use_bin_type=True,
        )
        return PingOutcome(ok, reason, pong)


def pong_digest(key_salt: bytes, server_hostname: bytes, nonce: bytes, shared_key: bytes) -> bytes:
    """The PONG's proof that the server knows the shared key (hex, as bytes)."""
    return _sha512_hex(key_salt, server_hostname, nonce, shared_key)


@dataclass(frozen=True)
class ClientPing:
    """A client's PING and what checking the server's PONG needs: the salt
    sent and the nonce received."""

    frame: bytes
    key_salt: bytes
    nonce: bytes
    shared_key: bytes = field(repr=False)

    def expected_pong_digest(self, server_hostname: bytes) -> bytes:
        return pong_digest(self.key_salt, server_hostname, self.nonce, self.shared_key)


def client_ping(
    helo: object,
    shared_key: bytes,
    hostname: str,
    username: bytes = b"",
    password: bytes = b"",
    key_salt: bytes | None = None,
) -> ClientPing:
    """The client's PING for a decoded HELO, with the salt and nonce the
    PONG is checked against. Used by `wf emit` and the controller."""
    if not (isinstance(helo, list) and len(helo) == 2 and isinstance(helo[1], dict)):
        raise HandshakeFailed("server did not send a HELO")
    options = helo[1]
    nonce = _as_bytes(options.get("nonce", b""))
    auth_salt = _as_bytes(options.get("auth", b""))
    salt = key_salt if key_salt is not None else os.urandom(16)
    host = hostname.encode()
    digest = _sha512_hex(salt, host, nonce, shared_key).decode()
    password_digest = _sha512_hex(auth_salt, username, password).decode() if auth_salt else ""
    ping = ["PING", hostname, salt, digest, username, password_digest]
    return ClientPing(msgpack.packb(ping, use_bin_type=True), salt, nonce, shared_key)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise HandshakeFailed(f"HELO field of type {type(value).__name__}")
