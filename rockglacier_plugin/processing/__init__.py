"""Processing provider and algorithms: thin adapters from QGIS parameters to core calls."""
