"""The HTTP sink: `https://` and `http://` drains.

`settings` (HttpSinkSettings), `encoder` (Logplex frames, NDJSON with the
logs API's fields), `transport` (the aiohttp client, statuses, Retry-After).
"""
