"""The foundation: raster and vector I/O shared by every concept package.

Holds opening rasters and windowed reading (``io``), pixel windows (``windows``), pixel sizes in
metres on projected and geographic grids (``pixel_size``), putting a raster on another's grid
(``alignment``), OGR polygons: parse, repair, reproject, metric area (``geometry``), exact
pixel coverage of polygons (``coverage``), and writing outputs under a partial name that is
renamed only when complete (``staged``).

May import: the core root (``errors``, ``progress``, ``dependencies``) only.
"""
