"""InSAR kinematics: sensors, interferogram reading, LOS geometry and its conventions, phase to
velocity and its noise, orbital ramp, stable reference, the scene on one grid, per-landform
downslope velocity, velocity rasters and SNAPHU unwrapping (``rockglacier:insarvelocity``,
``rockglacier:unwrap``).

May import: the foundation (``core.raster``), the core root, ``core.terrain`` (slope, aspect and
DEM smoothing for the downslope projection) and ``core.inventory`` (kinematic classes).
"""
