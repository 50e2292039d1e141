"""Samsung display drivers (MDC: Multiple Display Control)."""
