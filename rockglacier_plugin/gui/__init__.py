"""The review dock and its styling (QGIS widgets over the core's review logic)."""
