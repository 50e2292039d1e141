"""Dispatch: listeners for devices that send to the platform, routed to the module that owns each source.

routes.py        source address -> module ids, from the site configuration
counters.py      every datagram and connection classified and counted, one object (health, metrics)
rate_limit.py    per-source token buckets on each port
datagrams.py     UDP ports read in batches, so a flood costs little
delivery.py      one ordered, bounded queue per module; logs bounded per source and in all
trap_receiver.py SNMP traps on a UDP port -> the module's `trap(trap)` function
inbound.py       the UDP/TCP ports drivers declare (`Driver.inbound`) -> `received_inbound`
service.py       all of it for a node, following site-configuration changes
"""
