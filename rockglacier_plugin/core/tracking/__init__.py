"""Feature tracking: surface displacement between two images (or hillshades of DEMs) of two dates.

``ncc``: normalised cross-correlation of a template in a search window, sub-pixel peak; ``displacements``: a grid
of points matched, co-registered on stable ground, a level of detection from the stable points, outlier filters; ``hillshade``: DEMs shaded for tracking; ``dates``: each image's date; ``feature_tracking``: the
run from two rasters to points and per-landform velocities.

May import: the root, ``raster``, ``terrain`` (Horn's gradient for hillshades), ``inventory`` (the year of RGV's
annualised rates).
"""
