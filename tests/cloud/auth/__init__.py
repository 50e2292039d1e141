"""Tests of cloud authentication and authorisation (service, routes over a real socket, limits)."""
