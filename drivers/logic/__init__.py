"""Logic drivers: modules that drive the other modules of their system rather than a device."""
