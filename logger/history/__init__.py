"""Log history past the ring: an indexer fed after the store, and search.

Two backends behind one interface (`backend.HistoryBackend`): an embedded
tantivy index on disk (the default) and Quickwit over its REST API
(`WF_QUICKWIT_URL`). See docs/history.md.
"""
