"""Tests of the Extron SIS matrix driver."""
