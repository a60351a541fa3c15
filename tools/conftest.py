"""pytest collects tools/ for its doctests: scripts that run inside another program are not modules to import here."""

#: Runs inside the QGIS desktop (``qgis --code``), started by tools/desktop_screenshots.py.
collect_ignore = ["desktop_tour.py"]
