"""The tantivy schema and queries shared by the embedded index and the
ring matcher (the same engine evaluates a query on both sides of the seam)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import tantivy

from logger.history.backend import BadQuery, HistorySearch, Run
from logger.history.document import index_fields
from logger.history.query import checked_query

RAW_FIELDS = ("app", "proc", "instance", "stream", "level")


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in RAW_FIELDS:
        builder.add_text_field(name, stored=name == "app", tokenizer_name="raw", fast=True)
    builder.add_integer_field("time_us", indexed=True, fast=True)
    builder.add_unsigned_field("seq", indexed=True, fast=True, stored=True)
    builder.add_text_field("message", tokenizer_name="default")
    builder.add_bytes_field("line", stored=True)
    return builder.build()


def add_runs(writer: tantivy.IndexWriter, schema: tantivy.Schema, runs: Iterable[Run]) -> None:
    """Index a batch's lines: `from_dict` with the schema builds each document
    in one call (cheaper than one `add_*` call per field)."""
    from_dict, add = tantivy.Document.from_dict, writer.add_document
    for fields in index_fields(runs):
        add(from_dict(fields, schema))


def build_query(
    index: tantivy.Index, schema: tantivy.Schema, search: HistorySearch
) -> tantivy.Query:
    """The app term AND the logger's bounds AND the user's parsed query."""
    must = tantivy.Occur.Must
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [
        (must, tantivy.Query.term_query(schema, "app", search.app))
    ]
    if search.proc:
        process, dot, instance = search.proc.partition(".")
        if dot:
            clauses.append((must, tantivy.Query.term_query(schema, "proc", process)))
            if instance:
                clauses.append((must, _prefix(schema, "instance", instance)))
        else:
            clauses.append((must, _prefix(schema, "proc", process)))
    if search.since_us is not None or search.until_us is not None:
        clauses.append(
            (
                must,
                tantivy.Query.range_query(
                    schema, "time_us", tantivy.FieldType.Integer, search.since_us, search.until_us
                ),
            )
        )
    if search.before_seq is not None:
        clauses.append(
            (
                must,
                tantivy.Query.range_query(
                    schema,
                    "seq",
                    tantivy.FieldType.Unsigned,
                    None,
                    search.before_seq,
                    include_upper=False,
                ),
            )
        )
    user = checked_query(search.query)
    if user is not None:
        try:
            parsed = index.parse_query(user, ["message"], conjunction_by_default=True)
        except ValueError as error:
            raise BadQuery(f"query: {error}") from None
        clauses.append((must, parsed))
    return tantivy.Query.boolean_query(clauses)


def _prefix(schema: tantivy.Schema, field: str, value: str) -> tantivy.Query:
    return tantivy.Query.regex_query(schema, field, re.escape(value) + ".*")
