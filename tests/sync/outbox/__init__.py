"""Tests of the edge outbox."""
