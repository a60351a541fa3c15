"""``rockglacier:rgikexport``: the inventory as an RGIK GeoPackage (primary markers, outlines, moving areas)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ..core.inventory.kinematic_classes import KINEMATIC_CLASSES
from ..core.inventory.rgik import ACTIVITY, KINEMATIC_UNDEFINED, RELIABILITY_BY_REL_ERR, UPSLOPE_CONNECTION
from .algorithm_base import RockGlacierAlgorithm, callbacks, info, warn
from .layers import feature_record, feature_wkb, file_raster_path


def _mapping_rows(mapping: Dict[str, str]) -> str:
    return "".join(f"<tr><td>{ours}</td><td>{theirs}</td></tr>" for ours, theirs in mapping.items())


HELP = f"""
<p>Writes the inventory following RGIK's inventory concepts, in one GeoPackage with three layers:</p>
<ul>
<li><b>primary_markers</b>: a point inside each landform that review did not reject, with
<i>PrimaryID</i> (rg_id), <i>Upsl.Con.</i>, <i>Acti.Cl.</i>, <i>Kin.Att.</i>, <i>Rel.Kin.</i>,
<i>Kin.Period</i>, <i>Comment</i> and the geomorphic attributes and velocity.</li>
<li><b>geomorphological_outlines</b>: the footprints, <i>Out.Type</i> = Extended.</li>
<li><b>moving_areas</b> (with VELOCITY_RASTERS, e.g. <i>rockglacier:insarvelocity</i>'s downslope
velocity rasters): polygons of connected pixels in one kinematic class from 1 cm/yr up (classes read
after a 3 x 3 median filter, so lone noisy pixels do not count), larger than MIN_MOVING_AREA_KM2 and
touching an exported landform, with the period (from the raster's PAIR metadata) and the source file.</li>
</ul>
<p>Value mapping (one table in <code>core/inventory/rgik.py</code>):</p>
<table border="1"><tr><th>upslope_con</th><th>Upsl.Con.</th></tr>{_mapping_rows(UPSLOPE_CONNECTION)}</table>
<table border="1"><tr><th>activity</th><th>Acti.Cl.</th></tr>{_mapping_rows(ACTIVITY)}</table>
<p>Kin.Att.: the RGIK semi-orders of magnitude of vel_dslp_cm_yr ({', '.join(label for _, _, label in KINEMATIC_CLASSES)});
{KINEMATIC_UNDEFINED} where vel_ok = 0. Rel.Kin. from vel_rel_err: {', '.join(f'{label} below {bound:g}' for bound, label in RELIABILITY_BY_REL_ERR[:-1])}, else Low.</p>
<p><b>Caveat</b>: the attribute names follow RGIK's layer templates; the value labels were written from
RGIK's baseline concepts (v4.2.2, 2022) and practical guidelines (v1.0, 2023) as recalled, and have
not been checked line by line against those documents. Check them before submitting to a
database that validates vocabularies.</p>
"""


class RgikExportAlgorithm(RockGlacierAlgorithm):
    ALGORITHM_ID = "rgikexport"
    DISPLAY_NAME = "Export to RGIK GeoPackage"
    HELP = HELP
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("scipy.ndimage", "scipy"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Inventory (rock_glaciers layer)", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterMultipleLayers("VELOCITY_RASTERS", "Downslope velocity rasters, cm/yr (for moving areas)",
                                                               QgsProcessing.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterNumber("MIN_MOVING_AREA_KM2", "Smallest moving area, km2", QgsProcessingParameterNumber.Double,
                                                       0.005, False, 0.0))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "RGIK GeoPackage", "GeoPackage (*.gpkg)"))

    @staticmethod
    def _numbered(records: list, feedback: QgsProcessingFeedback) -> list:
        """Records with an rg_id each: landforms without one are numbered as rockglacier:attributes numbers them."""
        from ..core.inventory.identifiers import assign_ids

        missing = sum(1 for r in records if not str(r.get("rg_id") or "").strip())
        if missing:
            ids = assign_ids([r.get("rg_id") for r in records], "rg")
            records = [{**r, "rg_id": rg_id} for r, rg_id in zip(records, ids)]
            warn(feedback, f"{missing} landform(s) had no rg_id: they are exported with new ids (rg001...), numbered as "
                           "rockglacier:attributes numbers them; run rockglacier:attributes to store the ids in the inventory too.")
        return records

    def run_algorithm(self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Dict[str, Any]:
        from ..core.inventory.moving_areas import moving_areas
        from ..core.inventory.rgik import exported
        from ..core.inventory.rgik_export import write_rgik_geopackage

        source, features = self.source_and_features(parameters, "INPUT", context, needs_crs="inventory")
        records = self._numbered([feature_record(f) for f in features], feedback)
        rasters = self.parameterAsLayerList(parameters, "VELOCITY_RASTERS", context) or []
        minimum = self.parameterAsDouble(parameters, "MIN_MOVING_AREA_KM2", context)
        on_progress, is_cancelled = callbacks(feedback)
        moving = []
        landforms_wkb = [feature_wkb(f) for f, r in zip(features, records) if exported(r)]
        for index, layer in enumerate(rasters):
            if is_cancelled():
                raise QgsProcessingException("Cancelled: nothing was written.")
            moving.append(moving_areas(file_raster_path(layer, "velocity raster"), minimum, landforms_wkb, source.sourceCrs().toWkt()))
            on_progress(0.8 * (index + 1) / len(rasters))
        path = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        counts = write_rgik_geopackage(path, records, [feature_wkb(f) for f in features],
                                       source.sourceCrs().toWkt(), moving)
        for message in counts.skipped:
            warn(feedback, f"Not exported: {message}.")
        rejected = sum(1 for r in records if not exported(r))
        info(feedback, f"{counts.landforms} landform(s) written (a primary marker and an outline each) ({rejected} rejected landform(s) left out); "
                          f"{counts.moving_areas} moving area(s) from {len(rasters)} velocity raster(s).")
        return {"OUTPUT": path}
