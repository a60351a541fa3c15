"""Rock-glacier inventory plugin for QGIS.

QGIS calls ``classFactory`` when it loads the plugin. Nothing here imports qgis at module level,
so ``rockglacier_plugin.core`` stays importable in a plain Python.
"""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """Entry point QGIS calls with its interface (None in qgis_process)."""
    from .plugin import RockGlacierPlugin

    return RockGlacierPlugin(iface)
