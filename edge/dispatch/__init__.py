"""Dispatch: listeners for devices that send to the platform, routed to the module that owns each source.

routes.py        source address -> module ids, from the site configuration
delivery.py      one ordered, bounded queue per module; counters; rate-limited logs
trap_receiver.py SNMP traps on a UDP port -> the module's `trap(trap)` function
inbound.py       the UDP/TCP ports drivers declare (`Driver.inbound`) -> `received_inbound`
service.py       all of it for a node, following site-configuration changes
"""
