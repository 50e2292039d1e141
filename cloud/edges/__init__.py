"""The cloud end of the edge link: edges dial in, configuration goes down, what they observe comes up.

hub.py       EdgeHub: sessions by edge, batches stored and published, exec routing, health
session.py   EdgeSession: one node's session (hello, snapshot then changes, batches, acks)
scope.py     which documents one edge's site needs
db.py        EdgeDB: the hub's SQLite (status, events, nodes), idempotent by (edge, node, seq)
routes.py    mount_edge_link(app, hub): `WSS /api/engine/v2/edges/control`
"""
