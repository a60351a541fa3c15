"""InSAR kinematics: sensors, interferogram reading, LOS geometry and its conventions, phase to
velocity and its noise, orbital ramp, stable reference, the scene on one grid, per-landform
downslope velocity, velocity rasters and SNAPHU unwrapping (``rockglacier:insarvelocity``,
``rockglacier:unwrap``); readers of time-series and on-demand products (MintPy, LiCSBAS, HyP3,
GeoTIFF velocity maps) that normalise them on entry, and the per-pair series with the ascending +
descending combination.

May import: the foundation (``core.raster``), the core root, ``core.terrain`` (slope, aspect and
DEM smoothing for the downslope projection) and ``core.inventory`` (kinematic classes).
"""
