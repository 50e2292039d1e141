"""Tests of the config store seam and its engines."""
