"""The edge appliance: node process, module manager, driver hosts, cluster, state bus, local API."""

__version__ = "0.1.0"
