"""The edge end of the link: dial the cloud, keep the replica in step, drain the outbox.

uplink.py          serve_uplink: dial with jittered backoff, one session at a time, forever
session.py         UplinkSession: hello, snapshot/changes into the replica, batches up, exec down
backoff.py         jittered exponential backoff
replica_source.py  the replica as the node's SiteConfigSource
"""
