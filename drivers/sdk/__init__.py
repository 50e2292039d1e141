"""The driver SDK: what a driver author imports."""
