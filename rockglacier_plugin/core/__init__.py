"""QGIS-free science of the rock-glacier inventory.

Nothing in this package imports ``qgis`` (or ``torch``): every function runs in a plain Python
with numpy and GDAL, so the same code serves the Processing algorithms, the dock, the training
package and batch workers without QGIS. A test enforces the rule.

Layout, dependencies pointing down only (``tests/core/test_core_independence.py`` parses every
import and fails on any arrow not listed there):

* the root -- ``errors``, ``progress``, ``dependencies``, ``numbers``, ``conventions`` (DAYS_PER_YEAR,
  MAD_TO_SIGMA: one definition each): imported by everything, import nothing
  of the core but each other;
* ``raster`` -- the foundation: raster I/O, windows, pixel sizes, grid alignment, OGR geometry,
  pixel coverage, staged outputs; imports only the root;
* the concept packages -- ``terrain``, ``insar``, ``mapping``, ``inventory``, ``report``,
  ``tracking``: import the foundation and the root, and each other only along the listed sideways arrows.
"""
