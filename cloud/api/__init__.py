"""The PlaceOS-compatible cloud API: REST and WebSocket control under /api/engine/v2."""
