"""PJLink projector drivers (JBMIA PJLink Class 1)."""
