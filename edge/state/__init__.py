"""The state bus: module status and system lookups, in-process or in Redis as PlaceOS keeps them."""
