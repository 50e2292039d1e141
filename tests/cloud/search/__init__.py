"""Tests of search: the q parser, the SQLite FTS5 index, the indexer and reindex."""
