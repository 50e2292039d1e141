"""Tests of the edge replica."""
