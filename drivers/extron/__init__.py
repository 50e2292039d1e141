"""Extron drivers (SIS: Simple Instruction Set)."""
