"""Feature tracking: surface displacement between two images (or hillshades of DEMs) of two dates.

``ncc``: normalised cross-correlation of a template in a search window, sub-pixel peak; ``displacements``: a grid
of points matched, co-registered on stable ground, a level of detection from the stable points, outlier filters;
``hillshade``: DEMs shaded for tracking; ``dates``: each image's date; ``pair_reader``: the two rasters read a band of
rows at a time; ``feature_tracking``: the run from two rasters to points and per-landform velocities;
``velocity_raster``: the rates as a raster on the point grid.

May import: the root, ``raster``, ``terrain`` (Horn's gradient for hillshades).
"""
