"""The cloud configuration store: one seam, an embedded SQLite engine and scale-out engines.

base.py            ConfigStore (the seam), Change, Entry, Query, Filter, Order, Page
errors.py          StoreError and its kinds
factory.py         open_store(url): sqlite:///file.db; postgresql:// and rethinkdb:// reserved
validation.py      validate, give ids and encode documents before any transaction opens
recent.py          the newest changes in memory, for in-process changefeed subscribers
sqlite.py          SQLiteStore: WAL, one writer, gap-free changes table
sqlite_schema.py   its tables and statements
sqlite_query.py    Query -> SQL over JSON documents
"""
