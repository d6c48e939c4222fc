"""Drain sinks in Vector's shape: one package per sink (its settings, its
encoder, its transport) and `factory.make_sink`, the one place that picks a
sink for a URL.

- `sinks.syslog`: RFC 5424 (`encoder`), over TCP or TLS with octet counting
  (`tcp`) or one message per UDP datagram (`udp`); `SyslogSinkSettings`.
- `sinks.http`: Logplex frames or NDJSON (`encoder`) POSTed by aiohttp
  (`transport`); `HttpSinkSettings`.

What both share on purpose (TLS trust, connections to checked addresses,
error text) is `logger.drains.transport`; the buffer, batches and retries
every sink gets are `logger.drains.base`. This package's `__init__` imports
nothing, so settings can be read without loading a transport.
"""
