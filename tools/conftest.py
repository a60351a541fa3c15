"""pytest collects tools/ for its doctests: scripts that run inside another program are not modules to import here."""

#: Run inside the QGIS desktop (``qgis --code``), started by tools/desktop_screenshots.py and tools/tracking_screenshot.py.
collect_ignore = ["desktop_tour.py", "desktop_tracking.py"]
