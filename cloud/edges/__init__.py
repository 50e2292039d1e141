"""The cloud end of the edge link: edges dial in, configuration goes down, what they observe comes up.

hub.py       EdgeHub: sessions by edge, batches stored and published, exec routing, health
session.py   EdgeSession: one node's session (hello, snapshot then changes, batches, acks)
scope.py     which documents one edge's site needs
db.py        EdgeDB: the hub's SQLite (status, events, nodes), idempotent by (edge, node, seq)
routes.py    mount_edge_link(app, hub): `WSS /api/engine/v2/edges/control`
trigger_history.py   TriggerHistory: edges' trigger firings, once each; instances' trigger_count
webhook.py   `/api/engine/v2/webhook/{id}/notify`: checked at the cloud, sent down to the site
enrolment.py          EnrolmentService: one-time tokens per site, exchanged by a new node for its own key
enrolment_db.py       EnrolmentDB: tokens and enrolled nodes (enrolment.db)
enrolment_routes.py   mount_enrolment(app, service): `POST /edges/enrol`, tokens, an edge's nodes
enrolment_command.py  `transom cloud enrol-token`
"""
