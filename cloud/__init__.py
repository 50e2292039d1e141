"""The cloud tier: the PlaceOS-compatible API, auth, config store, search and the hub edges dial."""

__version__ = "0.1.0"
