"""`transom demo`: the cloud, one edge node and simulated devices, as separate processes on one box.

processes.py    ChildProcess: a `transom ...` subprocess with its log file, readiness and stop
site.py         the demo site: zones, rooms, devices (bundled drivers against simulators)
seed.py         puts the site into the cloud through its REST API (idempotent: re-runs reuse it)
credentials.py  DATA_DIR/demo-credentials.json: admin password, API key, edge key
run.py          run_demo: start, seed, wait for each piece, print how to use it, stop on Ctrl-C
"""

from __future__ import annotations
