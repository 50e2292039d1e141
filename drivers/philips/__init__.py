"""Philips (Signify) lighting drivers: the Hue bridge's local API."""
