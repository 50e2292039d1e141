"""Tests of the edge appliance."""
