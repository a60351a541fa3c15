"""QGIS-free science of the rock-glacier inventory.

Nothing in this package imports ``qgis``: every function runs in a plain Python with numpy and
GDAL, so the same code serves the Processing algorithms, the dock, the training package and batch
workers without QGIS. A test enforces the rule.
"""
