"""Cisco collaboration devices: RoomOS video codecs over the xAPI."""
