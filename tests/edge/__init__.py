"""Tests of the edge node: site config, supervision, module manager, local API, `transom edge run`."""
