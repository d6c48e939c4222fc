"""STAND-IN for Quickwit 0.8: the REST endpoints the logger's history uses.

Not Quickwit. Quickwit cannot run on the machines the tests run on, so this
aiohttp server implements, from Quickwit's REST API reference
(https://quickwit.io/docs/reference/rest-api, 0.8), the few endpoints the
logger calls, backed by the real tantivy engine (the one Quickwit is built
on), so search results are real:

    GET  /api/v1/indexes/{index_id}        -> 200 index metadata | 404
    POST /api/v1/indexes                   (JSON index config) -> 200 metadata
                                           | 400 (exists, or an invalid config)
    POST /api/v1/{index_id}/ingest?commit=auto|wait_for|force
                                           (NDJSON) -> 200 {"num_docs_for_processing": N}
                                           | 404 | 413 (past 10 MB) | 400 (bad commit)
    GET  /api/v1/{index_id}/search?query=&max_hits=&start_offset=&sort_by=
                                   &start_timestamp=&end_timestamp=
                                           -> 200 {"num_hits", "hits", "elapsed_time_micros",
                                              "errors"} | 400 (query) | 404
    POST /api/v1/{index_id}/delete-tasks   {"query": ...} -> 200 delete task

Failed requests carry `{"message": "..."}` as Quickwit's do. Documents
that do not fit a strict doc mapping are parse failures: not indexed, and
not an error of the request (Quickwit 0.8's behaviour). Every commit mode
commits at once here (a real `auto` commits within `commit_timeout_secs`).
`sort_by`: a field name sorts from the highest value, `+field` from the
lowest, `-field` from the highest. Tests inject faults with `fail_next`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import tantivy
from aiohttp import web

MAX_INGEST_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_HITS = 20


@dataclass
class StandinIndex:
    config: dict[str, Any]
    schema: tantivy.Schema
    index: tantivy.Index
    writer: tantivy.IndexWriter
    mappings: dict[str, dict[str, Any]]
    timestamp_field: str | None
    default_fields: list[str]
    created: float = field(default_factory=time.time)


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None
    path_part: str = "/ingest"


class QuickwitStandin:
    def __init__(self) -> None:
        self.indexes: dict[str, StandinIndex] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.ingested_docs = 0

    def application(self) -> web.Application:
        """A new aiohttp application over this stand-in's state, so a test can
        stop the server (closing every connection) and start it again."""
        app = web.Application(client_max_size=MAX_INGEST_BYTES * 2, middlewares=[self._faults])
        app.router.add_get("/api/v1/indexes/{index_id}", self._get_index)
        app.router.add_post("/api/v1/indexes", self._create_index)
        app.router.add_post("/api/v1/{index_id}/ingest", self._ingest)
        app.router.add_get("/api/v1/{index_id}/search", self._search)
        app.router.add_post("/api/v1/{index_id}/delete-tasks", self._delete_task)
        return app

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: str | None = None,
        path_part: str = "/ingest",
    ) -> None:
        """Answer the next `times` requests whose path holds `path_part` with `status`."""
        self.faults.append(Fault(status, times, retry_after, path_part))

    @web.middleware
    async def _faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        for fault in self.faults:
            if fault.times > 0 and fault.path_part in request.path:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                await request.read()
                return _error(fault.status, f"injected fault {fault.status}", headers)
        response: web.StreamResponse = await handler(request)
        return response

    # -- indexes -------------------------------------------------------------------

    async def _get_index(self, request: web.Request) -> web.Response:
        index = self.indexes.get(request.match_info["index_id"])
        if index is None:
            return _error(404, f"index `{request.match_info['index_id']}` not found")
        return web.json_response(_metadata(index))

    async def _create_index(self, request: web.Request) -> web.Response:
        try:
            config = await request.json()
        except ValueError:
            return _error(400, "failed to parse index config: expected JSON")
        if not isinstance(config, dict) or not isinstance(config.get("index_id"), str):
            return _error(400, "index config: missing field `index_id`")
        if config.get("version") not in ("0.7", "0.8"):
            return _error(400, "index config: unsupported version")
        index_id = config["index_id"]
        if index_id in self.indexes:
            return _error(400, f"index `{index_id}` already exists")
        try:
            self.indexes[index_id] = _build_index(config)
        except (KeyError, TypeError, ValueError) as error:
            return _error(400, f"index config: {error}")
        return web.json_response(_metadata(self.indexes[index_id]))

    # -- ingest ----------------------------------------------------------------------

    async def _ingest(self, request: web.Request) -> web.Response:
        index = self.indexes.get(request.match_info["index_id"])
        if index is None:
            return _error(404, f"index `{request.match_info['index_id']}` not found")
        commit = request.query.get("commit", "auto")
        if commit not in ("auto", "wait_for", "force"):
            return _error(400, f"unknown commit type `{commit}`")
        body = await request.read()
        if len(body) > MAX_INGEST_BYTES:
            return _error(413, "payload too large: the ingest API takes at most 10 MB")
        count = 0
        for raw in body.splitlines():
            if not raw.strip():
                continue
            count += 1
            document = _document(index, raw)
            if document is not None:
                index.writer.add_document(document)
                self.ingested_docs += 1
        index.writer.commit()
        index.index.reload()
        return web.json_response({"num_docs_for_processing": count})

    # -- search ------------------------------------------------------------------------

    async def _search(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        index = self.indexes.get(request.match_info["index_id"])
        if index is None:
            return _error(404, f"index `{request.match_info['index_id']}` not found")
        params = request.query
        if "query" not in params:
            return _error(400, "missing field `query`")
        try:
            max_hits = int(params.get("max_hits", DEFAULT_MAX_HITS))
            offset = int(params.get("start_offset", 0))
            start = int(params["start_timestamp"]) if "start_timestamp" in params else None
            end = int(params["end_timestamp"]) if "end_timestamp" in params else None
        except ValueError as error:
            return _error(400, f"invalid parameter: {error}")
        try:
            query = _query(index, params["query"], start, end)
        except ValueError as error:
            return _error(400, f"failed to parse query: {error}")
        searcher = index.index.searcher()
        sort = params.get("sort_by", "")
        order_field, order = sort.lstrip("+-") or None, tantivy.Order.Desc
        if sort.startswith("+"):
            order = tantivy.Order.Asc
        if order_field is not None and not index.mappings.get(order_field, {}).get("fast"):
            return _error(400, f"sort by field `{order_field}`: not a fast field")
        hits: list[dict[str, Any]] = []
        num_hits = 0
        if max_hits > 0:
            result = searcher.search(
                query, max_hits, count=True, order_by_field=order_field, offset=offset, order=order
            )
            num_hits = int(getattr(result, "count", 0) or 0)
            for _, address in result.hits:
                source = searcher.doc(address).get_first("_source")
                hits.append(json.loads(bytes(source or b"{}")))
        return web.json_response(
            {
                "num_hits": num_hits,
                "hits": hits,
                "elapsed_time_micros": int((time.perf_counter() - started) * 1e6),
                "errors": [],
            }
        )

    # -- deletes ------------------------------------------------------------------------

    async def _delete_task(self, request: web.Request) -> web.Response:
        index = self.indexes.get(request.match_info["index_id"])
        if index is None:
            return _error(404, f"index `{request.match_info['index_id']}` not found")
        body = await request.json()
        try:
            query = _query(index, str(body["query"]), None, None)
        except (KeyError, ValueError) as error:
            return _error(400, f"failed to parse query: {error}")
        index.writer.delete_documents_by_query(query)
        index.writer.commit()
        index.index.reload()
        return web.json_response(
            {"create_timestamp": int(time.time()), "opstamp": 1, "delete_query": body}
        )


def _build_index(config: dict[str, Any]) -> StandinIndex:
    mapping = config.get("doc_mapping", {})
    builder = tantivy.SchemaBuilder()
    mappings: dict[str, dict[str, Any]] = {}
    for field_mapping in mapping.get("field_mappings", []):
        name = field_mapping["name"]
        kind = field_mapping["type"]
        indexed = field_mapping.get("indexed", True)
        fast = bool(field_mapping.get("fast", False))
        mappings[name] = field_mapping
        if not indexed and not fast:
            continue  # kept in `_source` only, as a stored field is
        if kind == "text":
            builder.add_text_field(
                name, fast=fast, tokenizer_name=field_mapping.get("tokenizer", "default")
            )
        elif kind == "datetime":
            builder.add_date_field(name, indexed=indexed, fast=fast)
        elif kind == "i64":
            builder.add_integer_field(name, indexed=indexed, fast=fast)
        elif kind == "u64":
            builder.add_unsigned_field(name, indexed=indexed, fast=fast)
        else:
            raise ValueError(f"field `{name}`: type `{kind}` is not in this stand-in")
    builder.add_bytes_field("_source", stored=True)
    schema = builder.build()
    index = tantivy.Index(schema)
    return StandinIndex(
        config=config,
        schema=schema,
        index=index,
        writer=index.writer(heap_size=15_000_000, num_threads=1),
        mappings=mappings,
        timestamp_field=mapping.get("timestamp_field"),
        default_fields=list(config.get("search_settings", {}).get("default_search_fields", [])),
    )


def _document(index: StandinIndex, raw: bytes) -> tantivy.Document | None:
    """The tantivy document for one NDJSON line; None for a parse failure."""
    try:
        source = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(source, dict):
        return None
    strict = index.config.get("doc_mapping", {}).get("mode") == "strict"
    if strict and set(source) - set(index.mappings):
        return None
    document = tantivy.Document()
    for name, value in source.items():
        mapping = index.mappings.get(name)
        if mapping is None or not (mapping.get("indexed", True) or mapping.get("fast")):
            continue
        kind = mapping["type"]
        try:
            if kind == "text":
                document.add_text(name, str(value))
            elif kind == "datetime":
                document.add_date(name, dt.datetime.fromtimestamp(int(value), dt.UTC))
            elif kind == "i64":
                document.add_integer(name, int(value))
            elif kind == "u64":
                if int(value) < 0:
                    return None
                document.add_unsigned(name, int(value))
        except (TypeError, ValueError, OverflowError):
            return None
    document.add_bytes("_source", json.dumps(source).encode())
    return document


def _query(index: StandinIndex, text: str, start: int | None, end: int | None) -> tantivy.Query:
    """Quickwit's query language as tantivy parses it, AND by default."""
    query = (
        tantivy.Query.all_query()
        if text.strip() == "*"
        else index.index.parse_query(
            _prefix_clauses(text),
            index.default_fields,
            conjunction_by_default=True,
            allow_regexes=True,
        )
    )
    if index.timestamp_field is None or (start is None and end is None):
        return query
    bounds = tantivy.Query.range_query(
        index.schema,
        index.timestamp_field,
        tantivy.FieldType.Date,
        None if start is None else dt.datetime.fromtimestamp(start, dt.UTC),
        None if end is None else dt.datetime.fromtimestamp(end, dt.UTC),
        include_upper=end is None,
    )
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, bounds)])


# Quickwit's term prefix clause `field:prefix*` (its query-language cheat
# sheet); tantivy's own parser has no such clause, so it becomes the
# equivalent regex clause `field:/prefix.*/`.
_PREFIX_CLAUSE = re.compile(r'(?<![\\\w])(\w+):((?:\\.|[^\s()"\\*:\[\]{}])+)\*(?=$|[\s)])')


def _prefix_clauses(text: str) -> str:
    def regex(match: re.Match[str]) -> str:
        literal = re.sub(r"\\(.)", r"\1", match.group(2))
        return f"{match.group(1)}:/{re.escape(literal)}.*/"

    return _PREFIX_CLAUSE.sub(regex, text)


def _metadata(index: StandinIndex) -> dict[str, Any]:
    return {
        "version": "0.8",
        "index_uid": f"{index.config['index_id']}:01H0000000000000000000000",
        "index_config": index.config,
        "checkpoint": {},
        "create_timestamp": int(index.created),
        "sources": [],
    }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"message": message}, status=status, headers=headers)
