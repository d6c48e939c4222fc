"""The user's query evaluated on lines that are not in the index yet (the
ring, the indexer's queue), by the same engine: a throwaway in-memory
tantivy index, so a query means the same on both sides of the seam."""

from __future__ import annotations

import tantivy

from logger.history.backend import HistorySearch
from logger.history.schema import add_runs, build_query, build_schema

# tantivy's smallest indexing budget.
_HEAP_BYTES = 15_000_000


def matching(app: str, query: str, pairs: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The (seq, line) pairs whose line matches `query`, in their order."""
    if not pairs:
        return []
    schema = build_schema()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=_HEAP_BYTES, num_threads=1)
    add_runs(writer, schema, [(app, seq, [line]) for seq, line in pairs])
    writer.commit()
    index.reload()
    search = HistorySearch(app=app, limit=len(pairs), query=query)
    searcher = index.searcher()
    result = searcher.search(build_query(index, schema, search), len(pairs), count=False)
    wanted = {int(searcher.doc(address).get_first("seq") or 0) for _, address in result.hits}
    return [(seq, line) for seq, line in pairs if seq in wanted]
