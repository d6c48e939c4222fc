"""Drain URLs: parsing, validation, and the redacted form shown to people.

A drain URL is kept whole (with its credentials) only in the state file and
in `DrainUrl.original`; everything printed, logged or returned by the API
uses `DrainUrl.redacted()`, where user info becomes `***@` and every query
value except `format` becomes `***` (hosted log services often put tokens
there). Tokens in the path cannot be told apart from a path and are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from logger.drains.errors import InvalidDrainUrl

MAX_URL_LENGTH = 2048
SCHEMES = ("syslog", "syslog+tcp", "syslog+tls", "syslog+udp", "https", "http")
_TRANSPORTS = {
    "syslog": "tcp",
    "syslog+tcp": "tcp",
    "syslog+tls": "tls",
    "syslog+udp": "udp",
    "https": "http",
    "http": "http",
}
# 6514 is IANA's syslog-tls port (RFC 5425); 514 the traditional syslog one.
_DEFAULT_PORTS = {
    "syslog": 514,
    "syslog+tcp": 514,
    "syslog+tls": 6514,
    "syslog+udp": 514,
    "https": 443,
    "http": 80,
}
_FORMAT_PARAM = "format"
_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
REDACTED = "***"


class HttpFormat(StrEnum):
    """How an HTTP(S) drain encodes a batch, chosen by `?format=` in the URL."""

    LOGPLEX = "logplex"
    """Logplex frames: `application/logplex-1`, octet-counted RFC 5424 messages (default)."""

    NDJSON = "ndjson"
    """One JSON object per line (`application/x-ndjson`), the logs API's JSON fields."""


@dataclass(frozen=True, slots=True, repr=False)
class DrainUrl:
    """A validated drain URL with its credentials split out."""

    scheme: str
    host: str
    port: int
    # HTTP only: the path and query sent in the request line, without `format`.
    target: str = ""
    http_format: HttpFormat = HttpFormat.LOGPLEX
    username: str = ""
    password: str = ""
    # The URL as given, credentials included: for the state file only.
    original: str = field(default="", compare=False)

    @property
    def transport(self) -> str:
        """`tcp`, `tls`, `udp` or `http`."""
        return _TRANSPORTS[self.scheme]

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two drain URLs the same destination (`syslog://` is
        `syslog+tcp://`; host case and default ports do not matter)."""
        return (
            self.transport,
            self.scheme if self.transport == "http" else "",
            self.host,
            str(self.port),
            self.target,
            self.http_format.value,
            self.username,
            self.password,
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password)

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme] and self.transport == "http":
            return host
        return f"{host}:{self.port}"

    def request_url(self) -> str:
        """The URL an HTTP drain posts to: no credentials (they go in basic auth)."""
        return f"{self.scheme}://{self.netloc}{self.target or '/'}"

    def redacted(self) -> str:
        """The form safe to print, log and return from the API."""
        userinfo = f"{REDACTED}@" if self.has_credentials else ""
        text = f"{self.scheme}://{userinfo}{self.netloc}"
        if self.transport != "http":
            return text
        path, _, query = self.target.partition("?")
        pairs = [
            (name, value if name == _FORMAT_PARAM else REDACTED)
            for name, value in parse_qsl(query, keep_blank_values=True)
        ]
        if self.http_format is not HttpFormat.LOGPLEX:
            pairs.append((_FORMAT_PARAM, self.http_format.value))
        shown = urlencode(pairs, safe="*")
        return f"{text}{path}{'?' + shown if shown else ''}"

    def __repr__(self) -> str:
        return f"DrainUrl({self.redacted()!r})"

    def __str__(self) -> str:
        return self.redacted()


def parse_drain_url(text: str) -> DrainUrl:
    """Validate a drain URL; raises InvalidDrainUrl with a message that never
    repeats credentials or query values."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidDrainUrl("a drain URL is required")
    text = text.strip()
    if len(text) > MAX_URL_LENGTH:
        raise InvalidDrainUrl(f"the drain URL is longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(text):
        raise InvalidDrainUrl("the drain URL contains spaces or control characters")
    scheme, sep, _ = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _TRANSPORTS:
        shown = f" {scheme[:20]!r}" if sep else ""
        raise InvalidDrainUrl(
            f"unsupported drain URL scheme{shown}; use one of "
            + ", ".join(f"{name}://" for name in SCHEMES)
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidDrainUrl(f"the {scheme}:// drain URL has an invalid host or port") from None
    host = parts.hostname or ""
    if not host or not (_HOSTNAME.match(host) or _is_ipv6(host)):
        raise InvalidDrainUrl(f"the {scheme}:// drain URL needs a valid host name")
    if port == 0:
        raise InvalidDrainUrl(f"the {scheme}:// drain URL for {host} has port 0")
    if parts.fragment:
        raise InvalidDrainUrl(f"the drain URL for {host} must not have a #fragment")
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    port = port or _DEFAULT_PORTS[scheme]
    if _TRANSPORTS[scheme] != "http":
        if username or password:
            raise InvalidDrainUrl(f"syslog drain URLs cannot carry credentials ({host})")
        if parts.path not in ("", "/") or parts.query:
            raise InvalidDrainUrl(f"syslog drain URLs have no path or query ({host})")
        return DrainUrl(scheme, host, port, original=text)
    http_format = HttpFormat.LOGPLEX
    # Keep the query exactly as given (its encoding is the sink's business),
    # minus our own `format` parameter.
    kept: list[str] = []
    for piece in parts.query.split("&") if parts.query else []:
        name, _, value = piece.partition("=")
        if unquote(name) != _FORMAT_PARAM:
            kept.append(piece)
            continue
        try:
            http_format = HttpFormat(unquote(value))
        except ValueError:
            raise InvalidDrainUrl(
                f"format= in the drain URL for {host} must be logplex or ndjson"
            ) from None
    target = (parts.path or "/") + (f"?{'&'.join(kept)}" if kept else "")
    return DrainUrl(
        scheme,
        host,
        port,
        target=target,
        http_format=http_format,
        username=username,
        password=password,
        original=text,
    )


def redact_url(text: str) -> str:
    """The redacted form of any drain URL text, or `<invalid drain URL>`."""
    try:
        return parse_drain_url(text).redacted()
    except InvalidDrainUrl:
        return "<invalid drain URL>"


def _is_ipv6(host: str) -> bool:
    return ":" in host and all(char in "0123456789abcdefABCDEF:." for char in host)
