"""HTTP(S) drains: batches POSTed as Logplex frames, or as NDJSON.

Built on aiohttp's client (already the logger's HTTP stack), one
`ClientSession` with a one-connection pool per drain, so that a slow drain
holds only its own connection. The session ignores proxy variables
(`trust_env=False`): settings come from DrainSettings only.

Logplex frames (`Content-Type: application/logplex-1`) carry the batch as
octet-counted RFC 5424 messages with `Logplex-Msg-Count`, `Logplex-Frame-Id`
(the same on every retry of a batch, for de-duplication by the receiver) and
`Logplex-Drain-Token`. `?format=ndjson` sends one JSON object per line
instead, with the same headers. Credentials in the URL become basic auth.

2xx delivers; 429 and 5xx (and connection errors, timeouts) are retried with
backoff, honouring `Retry-After` in seconds; any other status drops the batch,
counted with reason `http_<status>`.
"""

from __future__ import annotations

import base64
import ssl

import aiohttp
import msgspec

from logger.drains.base import Batch
from logger.drains.errors import RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.syslog import SharedFrames, SyslogEncoder
from logger.drains.tcp_syslog import client_tls_context, describe_connect_error
from logger.drains.url import DrainUrl, HttpFormat
from logger.lines import ParsedLine

USER_AGENT = "wf-logger-drain/1"
LOGPLEX_CONTENT_TYPE = "application/logplex-1"
NDJSON_CONTENT_TYPE = "application/x-ndjson"
# Sinks answer with a few bytes; read at most this much of a response body.
_RESPONSE_READ_LIMIT = 64 * 1024


def basic_auth(username: str, password: str) -> str:
    """The `Authorization` header value for URL credentials (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as delta-seconds; HTTP dates and junk are ignored."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class HttpSink:
    """`https://` and `http://` drains."""

    def __init__(
        self,
        url: DrainUrl,
        app: str,
        settings: DrainSettings,
        token: str,
        frames: SharedFrames | None = None,
    ) -> None:
        """`frames`: the app's shared frames (DrainRegistry), else a private encoder."""
        self._url = url
        self._settings = settings
        self._request_url = url.request_url()
        self._tls: ssl.SSLContext | bool = (
            client_tls_context(settings.ca_file) if url.scheme == "https" else False
        )
        if frames is None:
            frames = SharedFrames(
                SyslogEncoder(app, settings.syslog_facility, settings.syslog_hostname)
            )
        self._syslog = frames
        self._json = msgspec.json.Encoder()
        self._ndjson = url.http_format is HttpFormat.NDJSON
        self._headers = {
            "Content-Type": NDJSON_CONTENT_TYPE if self._ndjson else LOGPLEX_CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "Logplex-Drain-Token": token,
        }
        if url.has_credentials:
            self._headers["Authorization"] = basic_auth(url.username, url.password)
        self._session: aiohttp.ClientSession | None = None

    @property
    def linger(self) -> float:
        return self._settings.batch_interval

    def encode(self, batch: Batch) -> bytes:
        if self._ndjson:
            return self._json.encode_lines([ParsedLine.parse(line) for line in batch.lines])
        return self._syslog.frames(batch.lines)

    async def send(self, batch: Batch) -> int:
        body = self.encode(batch)
        headers = {
            **self._headers,
            "Logplex-Msg-Count": str(len(batch.lines)),
            "Logplex-Frame-Id": batch.frame_id,
        }
        url = self._url
        where = f"{url.host}:{url.port}"
        try:
            async with self._client().post(
                self._request_url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                reason = response.reason or ""
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                await response.content.read(_RESPONSE_READ_LIMIT)
        except aiohttp.ClientConnectorCertificateError as error:
            detail = getattr(error.certificate_error, "verify_message", None) or "invalid"
            raise RetryableDelivery(
                f"TLS certificate verification failed for {where}: {detail}", "tls"
            ) from None
        except aiohttp.ClientConnectorError as error:
            kind, message = describe_connect_error(
                error.os_error, url.host, url.port, self._settings.connect_timeout
            )
            raise RetryableDelivery(message, kind) from None
        except TimeoutError:
            raise RetryableDelivery(
                f"{where} did not answer within {self._settings.send_timeout:g}s", "timeout"
            ) from None
        except aiohttp.ClientError as error:
            raise RetryableDelivery(
                f"request to {where} failed: {type(error).__name__}", "disconnected"
            ) from None
        if 200 <= status < 300:
            return len(body)
        answer = f"{where} answered HTTP {status} {reason}".rstrip()
        if status == 429 or status >= 500:
            kind = "http_429" if status == 429 else "http_5xx"
            raise RetryableDelivery(answer, kind, retry_after)
        raise RejectedDelivery(f"{answer}; batch of {batch.log_lines} lines dropped", status)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            settings = self._settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1, ssl=self._tls, ttl_dns_cache=60),
                timeout=aiohttp.ClientTimeout(
                    total=settings.connect_timeout + settings.send_timeout,
                    sock_connect=settings.connect_timeout,
                ),
                trust_env=False,
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
