"""Tests that drive the cloud API with PlaceOS's TypeScript client under Node."""
