"""Drivers for devices that speak an IETF-standard MIB rather than a vendor protocol."""
