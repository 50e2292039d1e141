"""Device drivers: the SDK, the bundled drivers and protocol-accurate device simulators."""
