"""Settings of the forward input, with named limits."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from foundation.settings import (
    FilePath,
    Flag,
    Integer,
    Kind,
    Seconds,
    Secret,
    Setting,
    Size,
    Text,
    declared,
    from_environ,
)
from logger.errors import SettingsError
from logger.forward.handshake import HandshakeSettings


class Users(Kind[dict[bytes, bytes]]):
    """`alice:secret,bob:other` -> {b"alice": b"secret", ...}; never shown."""

    type_name = "secret"
    secret = True

    def parse(self, raw: str, variable: str) -> dict[bytes, bytes]:
        users: dict[bytes, bytes] = {}
        for item in filter(None, (part.strip() for part in raw.split(","))):
            name, sep, password = item.partition(":")
            if not sep or not name:
                raise SettingsError(f"{variable} must look like user:password,user2:password2")
            users[name.encode()] = password.encode()
        return users

    def show(self, value: dict[bytes, bytes]) -> str:
        return "unset" if not value else "(secret)"


# Read by the logger (the forward input's handshake) and the controller (its
# forward client for platform lines): declared here, once, used by both.
SHARED_KEY: Setting[str] = Setting(
    "WF_FORWARD_SHARED_KEY",
    Secret(),
    "",
    "Shared key of the forward protocol's handshake; unset: no handshake.",
)
USERS: Setting[dict[bytes, bytes]] = Setting(
    "WF_FORWARD_USERS",
    Users(),
    {},
    "Forward users as user:password,user2:password2 (needs WF_FORWARD_SHARED_KEY).",
)
HOSTNAME: Setting[str] = Setting(
    "WF_FORWARD_HOSTNAME",
    Text(),
    "",
    "Server hostname sent in the handshake's HELO and PONG.",
    default_from=lambda environ: socket.gethostname(),
    shown_default="the host name",
)


@dataclass(frozen=True)
class ForwardSettings:
    host: str = declared(
        Setting(
            "WF_FORWARD_HOST",
            Text(),
            "0.0.0.0",
            "Address the forward input listens on.",
            flag="--forward-host",
        )
    )
    port: int = declared(
        Setting(
            "WF_FORWARD_PORT",
            Integer(0, 65535),
            24224,
            "Port of the forward input, TCP and UDP.",
            flag="--forward-port",
        )
    )
    # One frame, and also what one compressed payload may inflate to.
    max_frame_bytes: int = declared(
        Setting(
            "WF_FORWARD_MAX_FRAME_BYTES",
            Size(1024),
            16 << 20,
            "Largest frame, inflated.",
            flag="--max-frame-bytes",
        )
    )
    max_connections: int = declared(
        Setting(
            "WF_FORWARD_MAX_CONNECTIONS",
            Integer(1),
            1024,
            "Forward connections at once.",
            flag="--max-connections",
        )
    )
    max_connections_per_address: int = declared(
        Setting(
            "WF_FORWARD_MAX_CONNECTIONS_PER_ADDRESS",
            Integer(1),
            64,
            "Forward connections at once from one peer address.",
        )
    )
    # Not yet authenticated (or, with no shared key, no valid frame yet);
    # the oldest of them is closed first when a slot is needed.
    max_unauthenticated: int = declared(
        Setting(
            "WF_FORWARD_MAX_UNAUTHENTICATED",
            Integer(1),
            128,
            "Forward connections at once that have not yet authenticated or sent a frame.",
        )
    )
    reserved_fds: int = declared(
        Setting(
            "WF_FORWARD_RESERVED_FDS",
            Integer(16),
            256,
            "File descriptors kept from the forward input for the rest of the process.",
        )
    )
    # What all connections' unfinished frames may hold together.
    buffer_max_bytes: int = declared(
        Setting(
            "WF_FORWARD_BUFFER_MAX_BYTES",
            Size(1024),
            256 << 20,
            "Bytes of unfinished frames all forward connections may hold together.",
        )
    )
    # A connection with nothing to say for this long is closed.
    idle_timeout: float = declared(
        Setting(
            "WF_FORWARD_IDLE_TIMEOUT",
            Seconds(0.1),
            300.0,
            "Seconds before a silent client is closed.",
            flag="--idle-timeout",
        )
    )
    handshake_timeout: float = declared(
        Setting(
            "WF_FORWARD_HANDSHAKE_TIMEOUT",
            Seconds(0.1),
            10.0,
            "Seconds to finish the handshake.",
            flag="--handshake-timeout",
        )
    )
    read_bytes: int = declared(
        Setting(
            "WF_FORWARD_READ_BYTES",
            Size(1024),
            256 << 10,
            "Bytes asked of a connection per read (and its stream buffer's limit).",
        )
    )
    # Several processes on one port, the kernel spreading connections over them.
    reuse_port: bool = declared(
        Setting(
            "WF_FORWARD_REUSE_PORT",
            Flag(),
            False,
            "Open the forward port with SO_REUSEPORT (`wf serve --workers` sets it).",
        )
    )
    handshake: HandshakeSettings | None = field(default=None, repr=False)
    tls_cert: Path | None = declared(
        Setting(
            "WF_FORWARD_TLS_CERT",
            FilePath(),
            None,
            "PEM certificate: the forward input speaks TLS.",
            flag="--tls-cert",
        )
    )
    tls_key: Path | None = declared(
        Setting(
            "WF_FORWARD_TLS_KEY",
            FilePath(),
            None,
            "PEM private key for the TLS certificate.",
            flag="--tls-key",
        )
    )

    ALSO_READS: ClassVar[tuple[Setting[Any], ...]] = (SHARED_KEY, USERS, HOSTNAME)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ForwardSettings:
        shared_key = SHARED_KEY.read(environ)
        users = USERS.read(environ)
        if users and not shared_key:
            raise SettingsError("WF_FORWARD_USERS needs WF_FORWARD_SHARED_KEY as well")
        handshake = None
        if shared_key:
            handshake = HandshakeSettings(
                shared_key=shared_key.encode(),
                server_hostname=HOSTNAME.read(environ),
                users=users,
            )
        settings = from_environ(cls, environ, handshake=handshake)
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
