"""Tests of the Cisco RoomOS codec driver."""
