"""Tests of the state bus, in-process and on a real Redis."""
