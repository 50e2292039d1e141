"""Tests of the cloud API, through a real hypercorn server socket."""
