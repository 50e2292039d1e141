"""Tests of the driver host: its protocol, a real host process, and `transom driver run`."""
