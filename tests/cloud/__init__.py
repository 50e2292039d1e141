"""Tests of the cloud tier, mirroring cloud/."""
