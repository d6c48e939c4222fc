"""Settings of the forward input, with named limits."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from logger.env import env_bytes, env_float, env_int, env_path, env_str
from logger.errors import SettingsError
from logger.forward.handshake import HandshakeSettings


@dataclass(frozen=True)
class ForwardSettings:
    host: str = "0.0.0.0"
    port: int = 24224
    # One frame, and also what one compressed payload may inflate to.
    max_frame_bytes: int = 16 << 20
    max_connections: int = 1024
    # A connection with nothing to say for this long is closed.
    idle_timeout: float = 300.0
    handshake_timeout: float = 10.0
    read_bytes: int = 256 << 10
    handshake: HandshakeSettings | None = field(default=None, repr=False)
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ForwardSettings:
        shared_key = environ.get("WF_FORWARD_SHARED_KEY", "")
        users = _parse_users(environ.get("WF_FORWARD_USERS", ""))
        if users and not shared_key:
            raise SettingsError("WF_FORWARD_USERS needs WF_FORWARD_SHARED_KEY as well")
        handshake = None
        if shared_key:
            handshake = HandshakeSettings(
                shared_key=shared_key.encode(),
                server_hostname=env_str(environ, "WF_FORWARD_HOSTNAME", socket.gethostname()),
                users=users,
            )
        settings = cls(
            host=env_str(environ, "WF_FORWARD_HOST", cls.host),
            port=env_int(environ, "WF_FORWARD_PORT", cls.port, 0, 65535),
            max_frame_bytes=env_bytes(
                environ, "WF_FORWARD_MAX_FRAME_BYTES", cls.max_frame_bytes, 1024
            ),
            max_connections=env_int(environ, "WF_FORWARD_MAX_CONNECTIONS", cls.max_connections, 1),
            idle_timeout=env_float(environ, "WF_FORWARD_IDLE_TIMEOUT", cls.idle_timeout, 0.1),
            handshake_timeout=env_float(
                environ, "WF_FORWARD_HANDSHAKE_TIMEOUT", cls.handshake_timeout, 0.1
            ),
            handshake=handshake,
            tls_cert=env_path(environ, "WF_FORWARD_TLS_CERT", None),
            tls_key=env_path(environ, "WF_FORWARD_TLS_KEY", None),
        )
        settings.ssl_context()  # fail at start on unreadable certificates
        return settings

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_cert is None and self.tls_key is None:
            return None
        if self.tls_cert is None or self.tls_key is None:
            raise SettingsError("WF_FORWARD_TLS_CERT and WF_FORWARD_TLS_KEY go together")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as error:
            raise SettingsError(
                f"WF_FORWARD_TLS_CERT/WF_FORWARD_TLS_KEY cannot be loaded: {error}"
            ) from None
        return context


def _parse_users(raw: str) -> dict[bytes, bytes]:
    """`alice:secret,bob:other` -> {b"alice": b"secret", ...}."""
    users: dict[bytes, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, password = item.partition(":")
        if not sep or not name:
            raise SettingsError("WF_FORWARD_USERS must look like user:password,user2:password2")
        users[name.encode()] = password.encode()
    return users
