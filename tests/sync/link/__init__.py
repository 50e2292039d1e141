"""Tests of the edge-cloud link: protocol, cloud hub, edge uplink."""
