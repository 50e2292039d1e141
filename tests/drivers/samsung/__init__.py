"""Tests of the Samsung MDC display driver."""
