"""HTTP(S) drains: batches POSTed as Logplex frames, or as NDJSON.

Built on aiohttp's client (already the logger's HTTP stack), one
`ClientSession` with a one-connection pool per drain, so that a slow drain
holds only its own connection. The session ignores proxy variables
(`trust_env=False`): settings come from DrainSettings only. Its resolver is
the destination policy's (`logger.drains.transport.PolicyResolver`): the
connection goes to an address that was checked after resolution.

Logplex frames carry `Logplex-Msg-Count`, `Logplex-Frame-Id` (the same on
every retry of a batch, for de-duplication by the receiver) and
`Logplex-Drain-Token`; NDJSON bodies carry the same headers. Credentials in
the URL become basic auth.

2xx delivers; 429 and 5xx (and connection errors, timeouts) are retried,
at most `WF_DRAIN_HTTP_RETRIES` times (2, as Logplex), with backoff that
honours `Retry-After` in seconds or as an HTTP date; any other status drops
the batch, counted with reason `http_<status>`. Neither the reason phrase
nor the body of an answer reaches `last_error`: the drain's owner learns
the status class of failure, not what a server said.
"""

from __future__ import annotations

import base64
import email.utils
import ssl
import time

import aiohttp

from logger.drains.base import Batch
from logger.drains.destinations import DestinationPolicy
from logger.drains.errors import DeniedDestination, RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.encoder import LogplexEncoder, NdjsonEncoder
from logger.drains.sinks.syslog.encoder import SharedFrames, SyslogEncoder
from logger.drains.transport import PolicyResolver, client_tls_context, describe_connect_error
from logger.drains.url import DrainUrl, HttpFormat

USER_AGENT = "wf-logger-drain/1"
# Sinks answer with a few bytes; read at most this much of a response body.
_RESPONSE_READ_LIMIT = 64 * 1024


def basic_auth(username: str, password: str) -> str:
    """The `Authorization` header value for URL credentials (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` (RFC 9110 10.2.3) as seconds from `now` (Unix time):
    delta-seconds, or an HTTP date (a date in the past is 0); junk is None."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 850 and asctime forms are GMT too
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
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
        policy: DestinationPolicy | None = None,
    ) -> None:
        """`frames`: the app's shared frames (DrainRegistry), else a private
        encoder; `policy`: the registry's, else one from `settings`."""
        self._url = url
        self._settings = settings
        self._policy = policy or settings.destination_policy()
        self._request_url = url.request_url()
        self._tls: ssl.SSLContext | bool = (
            client_tls_context(settings.ca_file) if url.scheme == "https" else False
        )
        self._encoder: LogplexEncoder | NdjsonEncoder
        if url.http_format is HttpFormat.NDJSON:
            self._encoder = NdjsonEncoder()
        else:
            if frames is None:
                syslog = settings.syslog
                frames = SharedFrames(SyslogEncoder(app, syslog.facility, syslog.hostname))
            self._encoder = LogplexEncoder(frames)
        self._headers = {
            "Content-Type": self._encoder.content_type,
            "User-Agent": USER_AGENT,
            "Logplex-Drain-Token": token,
        }
        if url.has_credentials:
            self._headers["Authorization"] = basic_auth(url.username, url.password)
        self._session: aiohttp.ClientSession | None = None

    @property
    def linger(self) -> float:
        return self._settings.http.batch_interval

    @property
    def retries(self) -> int:
        return self._settings.http.retries

    def encode(self, batch: Batch) -> bytes:
        return self._encoder.encode(batch.lines)

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
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                await response.content.read(_RESPONSE_READ_LIMIT)
        except DeniedDestination as error:
            raise RejectedDelivery(str(error), reason="destination_denied") from None
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
        answer = f"HTTP {status} from the drain at {where}"
        if status == 429 or status >= 500:
            kind = "http_429" if status == 429 else "http_5xx"
            raise RetryableDelivery(answer, kind, retry_after)
        raise RejectedDelivery(f"{answer}; batch of {batch.log_lines} lines dropped", status)

    async def confirm(self, idle: bool) -> None:
        """A 2xx answer confirmed the batch already."""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            settings = self._settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=1,
                    ssl=self._tls,
                    ttl_dns_cache=60,
                    resolver=PolicyResolver(self._policy),
                ),
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
