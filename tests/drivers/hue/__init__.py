"""Tests of the Philips Hue bridge driver."""
