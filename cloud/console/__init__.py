"""Transom's cloud console (see pages.py)."""
