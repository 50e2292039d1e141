"""Tests of the RFC 1628 UPS-MIB driver."""
