"""The node's local API: exec and state over REST and the control WebSocket, on the site LAN.

A room panel keeps working while the WAN is down: it talks to any node of its site, with
credentials the node holds (API keys and the cloud's JWT verification keys).

auth.py        EdgeAuthenticator and Principal: API keys (hash check) and EdDSA JWTs
context.py     what the routes need from the node (executor, status, site, health)
failures.py    module errors -> ErrorKind (sync/control/errors.py)
routes.py      REST: systems/{sys}/{Module_N}[/...], modules/{id}/exec|state, edge/health
control.py     WebSocket /api/engine/v2/systems/control: the node's ports for sync's ControlSession
front_door.py  the listener: control upgrades to the raw WebSocket, the rest to hypercorn
raw_websocket.py  a WebSocket over a trio stream that writes a batch of frames at once
app.py         create_app and serve_local_api (hypercorn's trio worker)
"""
