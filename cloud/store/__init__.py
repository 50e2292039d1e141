"""The cloud configuration store: one seam, an embedded SQLite engine and scale-out engines."""
