"""``rockglacier:rgikexport``: the inventory as an RGIK GeoPackage (primary markers, outlines, moving areas)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ..core.inventory.kinematic_classes import KINEMATIC_CLASSES
from ..core.inventory.rgik import (
    ACTIVITY_UNDEFINED,
    KINEMATIC_ATTRIBUTE,
    RELIABILITY_BY_REL_ERR,
    UPSLOPE_CONNECTION,
    UPSLOPE_UNDEFINED,
)
from ..core.inventory.rgik_template import ACTIVITY_CLASSES, KINEMATIC_UNDEFINED, LAYERS
from ..core.workflows.mapping import DEFAULT_ID_PREFIX
from ..qgis_shared.features import feature_record, feature_wkb, file_raster_path
from .algorithm_base import RockGlacierAlgorithm, info, run_hooks, warn

LAYOUT_OPTIONS = ("One GeoPackage with the three layers", "Three GeoPackages: <name>_PM, <name>_MA, <name>_GO")


def _mapping_rows(mapping: Dict[str, str]) -> str:
    return "".join(f"<tr><td>{ours}</td><td>{theirs}</td></tr>" for ours, theirs in mapping.items())


def _layer_items() -> str:
    return "".join(
        f"<li><b>{layer.short}</b> ({layer.layer}, {layer.geometry}): {', '.join(f.name for f in layer.fields)}</li>"
        for layer in LAYERS
    )


HELP = f"""
<p>Writes the inventory in the layout of RGIK's inventory templates: primary markers (PM), moving areas (MA)
and geomorphological outlines (GO), every template field present (NULL where we have no value), in one
GeoPackage or in three (<i>LAYOUT</i>), each layer with a default style.</p>
<ul>{_layer_items()}</ul>
<p><b>PM</b>: a point inside each landform that review did not reject. <i>PrimaryID</i> is RGIK's id of a
rock-glacier unit: RGU + the marker's WGS84 latitude and longitude in decimal degrees x 10<sup>4</sup>, truncated
(N/S, E/W), e.g. RGU384455N1092526W = 38.4455 N, 109.2526 W, the convention published with the La Sal Mountains
RoGI (docs/rgik.md); our rg_id goes to <i>WorkingID</i>. Markers in one 0.0001-degree cell (about 11 m) would
share an id: the log names them.</p>
<table border="1"><tr><th>upslope_con</th><th>Upsl.Con.</th></tr>{_mapping_rows(UPSLOPE_CONNECTION)}
<tr><td>(none)</td><td>{UPSLOPE_UNDEFINED}</td></tr></table>
<p>Acti.Cl. from <i>activity</i>: {', '.join(ACTIVITY_CLASSES)} (written as such, any case, _ for a space);
{ACTIVITY_UNDEFINED} when empty.</p>
<p>Kin.Att. from vel_dslp_cm_yr: {', '.join(f'{label} = {word}' for label, word in KINEMATIC_ATTRIBUTE.items())};
{KINEMATIC_UNDEFINED} where vel_ok = 0. Rel.Kin. from vel_rel_err:
{', '.join(f'{label} below {bound:g}' for bound, label in RELIABILITY_BY_REL_ERR[:-1])}, else Low.</p>
<p><b>GO</b>: our footprints as Out.Type = Extended (we do not draw restricted outlines); the reliability
fields RelFr, RelLeftLM, RelRightLM, RelUpsCon, RelIndex are NULL (not assessed).</p>
<p><b>MA</b> (with VELOCITY_RASTERS, e.g. <i>rockglacier:insarvelocity</i>'s downslope velocity rasters):
polygons of connected pixels in one kinematic class from 1 cm/yr up (after a 3 x 3 median filter), larger
than MIN_MOVING_AREA_KM2 and touching an exported landform. Vel.Class is an integer code, 1 + the class's
position in the Kin.Att. list ({len(KINEMATIC_CLASSES)} = fastest).</p>
<p><b>Sources and what is unverified</b>: the field names are checked against a public reader of RGIK
inventories (PyRoGI) and the PM/MA/GO layout against Rouyet et al. (2025); the spelling of the value words
and the Vel.Class code-to-range table could not be checked against the RGIK PDFs: see docs/rgik.md in the
plugin's repository before submitting to a database that validates vocabularies.</p>
"""


class RgikExportAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:rgikexport``: the inventory in RGIK's standard (PrimaryID, outlines and markers)."""

    ALGORITHM_ID = "rgikexport"
    DISPLAY_NAME = "Export to RGIK GeoPackage"
    HELP = HELP
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("scipy.ndimage", "scipy"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(
            QgsProcessingParameterFeatureSource("INPUT", "Inventory (rock_glaciers layer)", [QgsProcessing.TypeVectorPolygon])
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "VELOCITY_RASTERS",
                "Downslope velocity rasters, cm/yr (for moving areas)",
                QgsProcessing.TypeRaster,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MIN_MOVING_AREA_KM2", "Smallest moving area, km2", QgsProcessingParameterNumber.Double, 0.005, False, 0.0
            )
        )
        self.addParameter(QgsProcessingParameterEnum("LAYOUT", "Layout", list(LAYOUT_OPTIONS), defaultValue=0))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", "RGIK GeoPackage (three files: their common name)", "GeoPackage (*.gpkg)"
            )
        )
        self.addOutput(QgsProcessingOutputMultipleLayers("FILES", "The GeoPackages written"))

    @staticmethod
    def _numbered(records: list, feedback: QgsProcessingFeedback) -> list:
        """Records with an rg_id each: landforms without one are numbered as rockglacier:attributes numbers them."""
        from ..core.inventory.identifiers import assign_ids

        missing = sum(1 for r in records if not str(r.get("rg_id") or "").strip())
        if missing:
            ids = assign_ids([r.get("rg_id") for r in records], DEFAULT_ID_PREFIX)
            records = [{**r, "rg_id": rg_id} for r, rg_id in zip(records, ids)]
            warn(
                feedback,
                f"{missing} landform(s) had no rg_id: they are exported with new ids (rg001...), numbered as "
                "rockglacier:attributes numbers them; run rockglacier:attributes to store the ids in the inventory too.",
            )
        return records

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the inventory, map its fields to RGIK's (``inventory.rgik``), write the RGIK layers."""
        from ..core.inventory.moving_areas import moving_areas
        from ..core.inventory.rgik import exported
        from ..core.inventory.rgik_export import LAYOUTS, output_paths, write_rgik
        from .output_styles import store_rgik_styles

        source, features = self.source_and_features(parameters, "INPUT", context, needs_crs="inventory")
        records = self._numbered([feature_record(f) for f in features], feedback)
        rasters = self.parameterAsLayerList(parameters, "VELOCITY_RASTERS", context) or []
        minimum = self.parameterAsDouble(parameters, "MIN_MOVING_AREA_KM2", context)
        layout = LAYOUTS[self.parameterAsEnum(parameters, "LAYOUT", context)]
        hooks = run_hooks(feedback)
        moving = []
        landforms_wkb = [feature_wkb(f) for f, r in zip(features, records) if exported(r)]
        for index, layer in enumerate(rasters):
            if hooks.cancelled():
                raise QgsProcessingException("Cancelled: nothing was written.")
            moving.append(
                moving_areas(file_raster_path(layer, "velocity raster"), minimum, landforms_wkb, source.sourceCrs().toWkt())
            )
            feedback.setProgress(80.0 * (index + 1) / len(rasters))
        path = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        counts = write_rgik(path, records, [feature_wkb(f) for f in features], source.sourceCrs().toWkt(), moving, layout)
        store_rgik_styles(output_paths(path, layout), feedback)
        for message in counts.skipped:
            warn(feedback, f"Not exported: {message}.")
        for duplicate in counts.duplicate_ids:
            warn(
                feedback,
                f"PrimaryID {duplicate} is shared by markers in one 0.0001-degree cell (about 11 m): make them distinct before "
                "submitting (WorkingID tells them apart).",
            )
        rejected = sum(1 for r in records if not exported(r))
        info(
            feedback,
            f"{counts.landforms} landform(s) written (a primary marker and an outline each) ({rejected} rejected landform(s) "
            "left out); "
            f"{counts.moving_areas} moving area(s) from {len(rasters)} velocity raster(s); files: {', '.join(counts.paths)}.",
        )
        return {"OUTPUT": path if layout == "single" else counts.paths[0], "FILES": counts.paths}
