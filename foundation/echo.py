"""How much of a client's own input an error message may hand back.

Error details quote what was wrong (a query parameter, an app name, a
field) so the client can see it; a client that sends kilobytes must not get
kilobytes back (or have them logged). Every error body of the logs, drains
and controller APIs passes through `capped`, the one place the bound lives.
"""

from __future__ import annotations

# Long enough for any sentence this project writes around a quoted value.
MAX_DETAIL_CHARS = 300
_MARK = "..."


def capped(message: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """`message`, cut to `limit` characters (ending with "...") when longer."""
    if len(message) <= limit:
        return message
    return message[: limit - len(_MARK)] + _MARK
