"""The cloud configuration store: one seam, an embedded SQLite engine and scale-out engines.

base.py            ConfigStore (the seam), Change, Entry, Query, Filter, Order, Page
errors.py          StoreError and its kinds
factory.py         open_store(url): sqlite:///file.db, postgresql://... or rethinkdb://...
validation.py      validate, give ids and encode documents before any transaction opens
recent.py          the newest changes in memory, for in-process changefeed subscribers
sqlite.py          SQLiteStore: WAL, one writer, gap-free changes table
sqlite_schema.py   its tables and statements
sqlite_query.py    Query -> SQL over JSON documents
postgres.py        PostgresStore: a one-row head counter serialises writers; LISTEN wakes feeds
postgres_sql.py    its schema, and Query -> jsonb SQL with SQLite's semantics
postgres_listen.py the LISTEN thread that wakes its changefeeds
rethinkdb.py       RethinkStore: a head document's compare-and-set commits each batch
rethinkdb_reql.py  its tables and indexes, and Query -> ReQL with SQLite's semantics
rethinkdb_link.py  its trio connections to the cluster (failover, the driver's close bug)
"""
