"""Driver host processes: the node runs each driver's modules in a child process of its own.

`process.py` is the child (`python -m edge.hosts.process DRIVER`), `client.py` the node's
side; they speak the framed protocol of `protocol.py`. A driver author never imports these:
the SDK (`drivers/sdk/`) is what a driver sees.
"""
