"""Tests of the PJLink projector driver."""
