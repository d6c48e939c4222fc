"""RFC 5424 messages from stored lines, with RFC 6587 octet-counting framing.

No I/O here: the TCP, TLS and UDP sinks and the Logplex HTTP frames all use
this encoder, and it is tested from bytes.

    <14>1 2026-11-22T10:00:00.123456+00:00 shop shop web.x2x9z - - GET /healthz 200
    PRI  V TIMESTAMP (the line's own)     HOST APP PROCID   MSGID SD MSG

The stream sets the severity (stdout info, stderr error, platform lines with
no stream notice); MSG is the message as stored, UTF-8 without a BOM, and may
contain newlines (octet counting makes that safe on TCP and TLS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from logger.lines import NO_STREAM, STDERR, STDOUT, TIMESTAMP_LENGTH

SEVERITY_ERROR = 3
SEVERITY_NOTICE = 5
SEVERITY_INFO = 6
FACILITY_USER = 1
# RFC 5424 section 6: field lengths, in printable US-ASCII.
APP_NAME_MAX = 48
PROCID_MAX = 128
HOSTNAME_MAX = 255
NIL = b"-"
_SEVERITIES = {STDOUT[0]: SEVERITY_INFO, STDERR[0]: SEVERITY_ERROR, NO_STREAM[0]: SEVERITY_NOTICE}
# The header text after the timestamp depends only on `app[process.instance`,
# so it is built once per process and looked up afterwards.
_HEADER_CACHE_LIMIT = 4096
_HEAD_START = 1 + TIMESTAMP_LENGTH + 1


def severity_for(marker: int) -> int:
    """The syslog severity for a stored line's stream marker byte."""
    return _SEVERITIES.get(marker, SEVERITY_NOTICE)


def printable_field(raw: bytes, limit: int) -> bytes:
    """A header field as RFC 5424 allows: 1..limit chars of PRINTUSASCII (33-126)."""
    cleaned = bytes(byte if 33 <= byte <= 126 else 0x5F for byte in raw[:limit])
    return cleaned or NIL


def truncate_utf8(data: bytes, limit: int) -> bytes:
    """`data` cut to at most `limit` bytes without splitting a UTF-8 character."""
    if len(data) <= limit:
        return data
    end = limit
    # Step back over continuation bytes (0b10xxxxxx) to a character start.
    while end > 0 and data[end] & 0xC0 == 0x80:
        end -= 1
    return data[:end]


class SyslogEncoder:
    """Encodes the stored lines of one app as RFC 5424 messages."""

    __slots__ = ("_app", "_cache", "_fallback", "_hostname", "_prefixes")

    def __init__(self, app: str, facility: int = FACILITY_USER, hostname: str = "") -> None:
        if not 0 <= facility <= 23:
            raise ValueError(f"syslog facility must be 0..23, got {facility}")
        self._app = printable_field(app.encode(), APP_NAME_MAX)
        self._hostname = printable_field((hostname or app).encode(), HOSTNAME_MAX)
        self._prefixes = {
            marker: b"<%d>1 " % (facility * 8 + severity)
            for marker, severity in _SEVERITIES.items()
        }
        self._fallback = b" %b %b - - - " % (self._hostname, self._app)
        self._cache: dict[bytes, bytes] = {}

    def message(self, stored: bytes) -> bytes:
        """The RFC 5424 message for one stored line (marker byte + printed line)."""
        close_at = stored.find(b"]: ", _HEAD_START)
        prefix = self._prefixes.get(stored[0]) or self._prefixes[NO_STREAM[0]]
        timestamp = stored[1 : _HEAD_START - 1]
        if close_at < 0:
            return b"%b%b%b%b" % (prefix, timestamp, self._fallback, stored[_HEAD_START:])
        key = stored[_HEAD_START:close_at]
        header = self._cache.get(key)
        if header is None:
            header = self._header(key)
        return b"%b%b%b%b" % (prefix, timestamp, header, stored[close_at + 3 :])

    def frames(self, lines: Iterable[bytes]) -> bytes:
        """Octet-counted messages (RFC 6587 3.4.1): `LEN SP MSG`, back to back."""
        parts: list[bytes] = []
        append = parts.append
        message = self.message
        for stored in lines:
            encoded = message(stored)
            append(b"%d " % len(encoded))
            append(encoded)
        return b"".join(parts)

    def datagrams(self, lines: Sequence[bytes], limit: int) -> tuple[list[bytes], int]:
        """One message per datagram (RFC 5426), each cut to `limit` bytes on a
        UTF-8 boundary; returns the datagrams and how many were truncated."""
        out: list[bytes] = []
        truncated = 0
        for stored in lines:
            encoded = self.message(stored)
            if len(encoded) > limit:
                encoded = truncate_utf8(encoded, limit)
                truncated += 1
            out.append(encoded)
        return out, truncated

    def _header(self, key: bytes) -> bytes:
        open_at = key.find(b"[")
        if open_at < 0:
            app, procid = key, NIL
        else:
            app, procid = key[:open_at], key[open_at + 1 :]
        header = b" %b %b %b - - " % (
            self._hostname,
            printable_field(app, APP_NAME_MAX) if app else self._app,
            printable_field(procid, PROCID_MAX),
        )
        if len(self._cache) >= _HEADER_CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = header
        return header


def split_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """Decode octet-counted frames; returns the complete messages and the rest.

    For tests and tools: the drains only encode."""
    messages: list[bytes] = []
    position = 0
    while True:
        space = data.find(b" ", position)
        if space < 0:
            return messages, data[position:]
        length_text = data[position:space]
        if not length_text.isdigit():
            raise ValueError(f"bad octet count {length_text[:20]!r} at byte {position}")
        end = space + 1 + int(length_text)
        if end > len(data):
            return messages, data[position:]
        messages.append(data[space + 1 : end])
        position = end
