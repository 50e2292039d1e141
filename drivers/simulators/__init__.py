"""Protocol-accurate device simulators, built from the vendors' published protocol documents."""
