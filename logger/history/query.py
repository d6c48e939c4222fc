"""The user's query, checked, and the app filter the logger always adds.

The app is never part of the user's text: the embedded index combines a
term query on the raw `app` field with the parsed user query as two
`Occur.Must` clauses; Quickwit gets `app:"shop" AND (<user query>)` after
the user query is checked to be one closed group (balanced parentheses
outside quotes, closed quotes), so no `)` can end the group early. Both
backends' hits are checked for the app again before they leave.
"""

from __future__ import annotations

from logger.history.backend import BadQuery, HistorySearch

MAX_QUERY_CHARS = 1000


def checked_query(text: str | None) -> str | None:
    """The user's query, stripped; None when empty. BadQuery when it cannot be one."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise BadQuery(f"query must be at most {MAX_QUERY_CHARS} characters")
    if any(ord(char) < 0x20 for char in text):
        raise BadQuery("query must not contain control characters")
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise BadQuery("query has a ')' without its '('")
    if escaped:
        raise BadQuery("query ends with a lone backslash")
    if quoted:
        raise BadQuery('query has an unclosed "')
    if depth:
        raise BadQuery("query has a '(' without its ')'")
    return text


def quickwit_query(search: HistorySearch) -> str:
    """The whole query string for Quickwit: the logger's filters AND the user's group."""
    clauses = [f'app:"{search.app}"']
    if search.proc:
        process, dot, instance = search.proc.partition(".")
        if dot:
            clauses.append(f'proc:"{_quoted(process)}"')
            if instance:
                clauses.append(f"instance:{_prefix(instance)}")
        else:
            clauses.append(f"proc:{_prefix(process)}")
    if search.since_us is not None or search.until_us is not None:
        low = "*" if search.since_us is None else str(search.since_us)
        high = "*" if search.until_us is None else str(search.until_us)
        clauses.append(f"time_us:[{low} TO {high}]")
    if search.before_seq is not None:
        clauses.append(f"seq:[* TO {search.before_seq}}}")
    user = checked_query(search.query)
    if user is not None:
        clauses.append(f"({user})")
    return " AND ".join(clauses)


def proc_matches(proc: str | None, process_instance: bytes) -> bool:
    """The same prefix rule as the ring's `proc=` filter."""
    return proc is None or process_instance.startswith(proc.encode())


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _prefix(value: str) -> str:
    """A term prefix clause, every query-language character escaped."""
    escaped = "".join("\\" + char if not char.isalnum() else char for char in value)
    return escaped + "*"
