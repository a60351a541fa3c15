"""Region scale on Dask: map a mountain range from many Sentinel-2 scenes, or measure an inventory
over many interferograms and velocity products, on one machine (a LocalCluster) or on a cluster.

``python -m rockglacier_plugin.region map|velocity ...`` (see ``cli``). Tasks are a scene or a pair
each and call the same core functions as the Processing algorithms (``core.mapping.segmentation``,
``core.mapping.polygons``, ``core.insar.landform_velocity``); every task writes its outputs to files
in a work folder and returns only their paths and a few numbers, so the scheduler never carries
rasters. Needs ``dask[distributed]`` (installed by ``make setup`` in the training/CLI environment,
not needed inside QGIS).
"""
