"""The cloud tier: API, auth, config store, triggers, search and the Backoffice."""

__version__ = "0.1.0"
