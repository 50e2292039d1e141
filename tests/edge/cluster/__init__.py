"""Tests of the site cluster: rendezvous hashing, etcd client, membership and fencing, placement."""
