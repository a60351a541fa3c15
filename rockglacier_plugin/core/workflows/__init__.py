"""The workflows every entry point runs: one pipeline per workflow, so that ``rockglacier:insarvelocity``
and ``rockglacier:segment`` (Processing, the dock) and the region command (``python -m
rockglacier_plugin.region``, on Dask) give the same numbers, defaults, options and messages by
construction.

* ``velocity_options``: the velocity run's numeric and yes/no options (name, label, default, range),
  from which both the Processing parameters and the command-line flags are built;
* ``velocity``: inputs as the user gives them (interferograms with coherence and components, HyP3
  products, LOS velocity products, the LOS geometry) -> the pairs the core measures;
* ``velocity_run``: the one velocity run, read -> measure -> combine -> write: ``rockglacier:insarvelocity`` runs it
  once, the region command once per pair on the workers (the same ``VelocityRun``, one pair's inputs), then both
  combine the pairs' values with the same function;
* ``mapping``: the mapping run's options, and candidate polygons -> inventory rows with ids that never
  collide with an existing inventory's;
* ``tracking``: the feature-tracking run's options (metres, m/yr) -> its inputs and settings, and its output
  layers' fields, shared by ``rockglacier:featuretracking`` and the region command's ``track``.

May import: every concept package (``insar``, ``mapping``, ``inventory``, ``terrain``, ``tracking``), the foundation
and the core root. Nothing in the core imports it.
"""
