"""Fixtures that start REAL servers (etcd, Redis, PostgreSQL, RethinkDB, snmpd, sshd) on free loopback ports.

Every module in this package is loaded as a pytest plugin by tests/conftest.py, so a test
asks for a server by fixture name. No server is ever mocked.
"""
