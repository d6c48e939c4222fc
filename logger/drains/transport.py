"""What the sinks share on purpose: TLS trust, checked connections, error text.

- `client_tls_context`: the one TLS client context (system trust plus
  `WF_DRAIN_CA_FILE`, host names verified, no way to skip the check).
- `open_stream` / `open_datagram` / `PolicyResolver`: connections made to
  the addresses the destination policy checked after resolving the name
  (`logger.drains.destinations`), never to a second resolution of it; the
  TLS handshake still verifies the certificate for the name in the URL.
- `describe_connect_error`: a failure as a (kind, message) pair for the
  retry metric and `last_error`. Messages name the host and port the user
  gave and a class of failure (refused, timed out, TLS handshake failed),
  never what a server answered: `last_error` is shown to the drain's
  owner, who must not learn more than "it did not work" about a host.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from logger.drains.destinations import DestinationPolicy


def client_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """System trust store plus the operator's CA file (WF_DRAIN_CA_FILE),
    with hostname verification: drains never skip certificate checks."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def describe_connect_error(
    error: BaseException, host: str, port: int, timeout: float
) -> tuple[str, str]:
    """A (kind, message) for a failed connection, naming host and port only."""
    if isinstance(error, ssl.SSLCertVerificationError):
        # The verifier's own reason (expired, unknown issuer, name mismatch):
        # about the certificate the user's server must present, not an answer.
        detail = error.verify_message or "verification failed"
        return "tls", f"TLS certificate verification failed for {host}:{port}: {detail}"
    if isinstance(error, ssl.SSLError):
        return "tls", f"TLS handshake with {host}:{port} failed"
    if isinstance(error, socket.gaierror):
        return "dns", f"cannot resolve host {host}: {error.strerror or 'lookup failed'}"
    if isinstance(error, TimeoutError):
        return "timeout", f"timed out connecting to {host}:{port} after {timeout:g}s"
    if isinstance(error, ConnectionRefusedError):
        return "connect", f"connection to {host}:{port} refused"
    if isinstance(error, ConnectionResetError):
        return "connect", f"connection to {host}:{port} reset"
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        return "connect", f"cannot connect to {host}:{port}: {reason}"
    return "connect", f"cannot connect to {host}:{port}: {type(error).__name__}"


async def open_stream(
    policy: DestinationPolicy,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None,
    timeout: float,
    limit: int = 1 << 16,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP (or TLS, verified for `host`) connection to the first allowed
    address `host` resolves to that accepts it. Raises DeniedDestination,
    OSError (the last address's) or TimeoutError (the whole `timeout`)."""
    async with asyncio.timeout(timeout):
        addresses = await policy.resolve(host, port, socket.SOCK_STREAM)
        last: OSError = socket.gaierror(socket.EAI_NONAME, "no address")
        for _family, address, address_port in addresses:
            try:
                return await asyncio.open_connection(
                    address,
                    address_port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                    ssl_handshake_timeout=timeout if tls is not None else None,
                    limit=limit,
                )
            except ssl.SSLError:
                raise  # the server answered: another address would not verify better
            except OSError as error:
                last = error
        raise last


async def open_datagram(
    policy: DestinationPolicy,
    host: str,
    port: int,
    protocol: Any,
    *,
    timeout: float,
) -> tuple[asyncio.DatagramTransport, Any]:
    """A connected UDP endpoint to the first allowed address of `host`."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        addresses = await policy.resolve(host, port, socket.SOCK_DGRAM)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        family, address, address_port = addresses[0]
        return await loop.create_datagram_endpoint(
            protocol, remote_addr=(address, address_port), family=family
        )


class PolicyResolver(AbstractResolver):
    """aiohttp's resolver for HTTP drains: only the addresses the policy
    allows are returned, so aiohttp connects to checked addresses only (and
    caches them, `ttl_dns_cache`, as they are). Raises DeniedDestination."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._policy.resolve(host, port, socket.SOCK_STREAM)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=address_port,
                family=address_family,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address_family, address, address_port in addresses
            if family in (socket.AF_UNSPEC, address_family)
        ]

    async def close(self) -> None:
        return None
