"""DEM-derived science: slope and aspect, zonal statistics, per-landform DEM attributes, and the
upslope-connection suggestion from glacier outlines (``rockglacier:attributes``).

May import: the foundation (``core.raster``), the core root, and ``core.inventory`` (the schema's
upslope classes and rock-glacier ids).
"""
