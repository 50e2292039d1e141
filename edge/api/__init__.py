"""The node's local API: exec and state over REST and the control WebSocket, on the site LAN.

A room panel keeps working while the WAN is down: it talks to any node of its site, with
credentials the node holds (API keys and the cloud's JWT verification keys).

auth.py        EdgeAuthenticator and Principal: API keys (hash check) and EdDSA JWTs
context.py     what the routes need from the node (executor, status, site, health)
failures.py    exec errors -> HTTP status and WebSocket error code
frames.py      the control WebSocket's frames (the cloud's wire protocol)
routes.py      REST: systems/{sys}/{Module_N}[/...], modules/{id}/exec|state, edge/health
control.py     WebSocket /api/engine/v2/systems/control: one ControlSession per client
outbox.py      a session's send queue: coalescing notifies, never blocking the bus
app.py         create_app and serve_local_api (hypercorn's trio worker)
"""
