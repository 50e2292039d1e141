"""Tests of the node's local API."""
