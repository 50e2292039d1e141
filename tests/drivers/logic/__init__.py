"""Tests of the room logic driver."""
