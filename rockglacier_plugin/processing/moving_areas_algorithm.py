"""``rockglacier:movingareas``: moving-area candidates proposed from interferograms or velocity products."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
)

from ..qgis_shared.features import feature_wkb, file_raster_path, text_or_none
from .algorithm_base import RockGlacierAlgorithm, as_advanced, given, info, products_folder, run_hooks
from .insar_inputs import InsarInputs
from .output_styles import store_inventory_style

HELP = """
<p>Proposes <b>moving areas</b> from unwrapped interferograms or LOS velocity products, as candidates
to review in the dock like the deep-learning ones (<i>source</i> = insar, <i>review</i> = candidate):
the first route of the reference workflow (Hu et al. 2023), where moving ground stands out in the
phase and the analyst outlines it against the imagery.</p>
<ol>
<li>Each pair or product is read as <i>rockglacier:insarvelocity</i> reads it (same inputs,
ramp and stratified atmosphere fitted on stable ground outside INPUT's landforms and the glaciers).</li>
<li>Local reference: every pixel's LOS velocity minus the median of the coherent ground within
REFERENCE_RADIUS_M (500 m by default here: the nearer the reference, the less turbulent atmosphere
stays; medians of cells a quarter of the radius wide, so a landform does not bias its own reference);
the spread of those cells is the reference's error.</li>
<li>Downslope velocity v_dslp = v_los / g with its 1-sigma (phase noise, reference, projection); usable
where coherence &gt;= MIN_COHERENCE, |g| &gt;= MIN_PROJECTION_FACTOR, slope between MIN_SLOPE_DEG and
MAX_SLOPE_DEG (rock glaciers creep on about 5-35 deg), neither layover nor radar shadow, and outside
GLACIERS (moving glacier ice is not a rock glacier).</li>
<li>Moving pixels: v_dslp &gt;= MIN_VELOCITY_CM_YR and &gt;= MIN_SNR x its 1-sigma at the pixel's scale
(3 x 3 median) or at the landform's (the mean over a 75 m disc, whose 1-sigma is the pixel noise averaged
over the disc plus the reference's error: a slow landform below the noise of each pixel stands out over its
own extent); joined
across one- or two-pixel gaps, holes filled; kept when at least MIN_AREA_KM2 and MIN_COHERENT_SHARE of
the area is coherent. MIN_VELOCITY_CM_YR left empty follows the data: 10 cm/yr for an interferogram pair;
for a velocity product (MintPy velocityStd, LiCSBAS vstd, a GeoTIFF with its LOS_VELOCITY_SIGMA raster)
MIN_SNR x the median downslope 1-sigma (the product's sigma and the local reference's spread), at least
1 cm/yr; the log says which was used and from what.</li>
<li>Unwrapping artefacts are dropped and the log says where: a region that is its own SNAPHU connected
component (COMPONENTS, ISCE2 .conncomp found automatically), or a region cut from its surroundings by a
whole-cycle cut (along most of its big steps the change, from the levels 3 px either side, is the same whole
number of phase cycles, held within the step) around an inside as uniform as stable ground. The sharp
shear margin of a fast landform, whose inside varies as a moving landform does, is motion and is kept.</li>
<li>Several pairs or tracks: overlapping areas are merged; the values are those of the pair with the
smallest relative error; <i>pairs_seen</i> and <i>pairs_covering</i> count the pairs where it moves and
those that see it coherently, and an area seen in fewer pairs than cover it is flagged in
<i>vel_reason</i>, not dropped.</li>
</ol>
<p>Fields (inventory schema): <i>vel_dslp_cm_yr</i> and <i>vel_err_cm_yr</i> (mean downslope velocity and
its error), <i>vel_max_cm_yr</i> and <i>vel_max_err_cm_yr</i> (95th percentile), <i>kin_class</i> (RGIK
class of the mean), <i>coh_share</i>, <i>vel_valid_frac</i>, <i>vel_pair</i>, <i>vel_geometry</i>,
<i>vel_ok</i> (the criteria of insarvelocity), <i>area_km2</i>, <i>lon</i>/<i>lat</i>, and
<i>match_rg_id</i>: the landform of INPUT it overlaps most, so only new areas need review. VELOCITY_CLASS
writes the candidates' RGIK class per pixel (one raster per pair: &lt;name&gt;_&lt;YYYYMMDD-YYYYMMDD&gt;.tif).</p>
<p>Not found: landforms moving along the satellite track (|g| small), incoherent ones, those slower
than the noise, inactive ones. Run <i>rockglacier:segment</i> for those, with the EXISTING inventory so
that candidates found by both are matched.</p>
"""


class MovingAreasAlgorithm(InsarInputs, RockGlacierAlgorithm):
    """``rockglacier:movingareas``: candidate moving areas (regions of significant downslope motion) from interferograms or
    velocity products."""

    ALGORITHM_ID = "movingareas"
    DISPLAY_NAME = "Moving-area candidates from interferograms or velocity products (InSAR)"
    HELP = HELP
    GROUP = ("InSAR kinematics", "insar")
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("scipy.ndimage", "scipy"),)

    def _own_number(
        self,
        name: str,
        label: str,
        default: Optional[float],
        minimum: float,
        maximum: float,
        advanced: bool = False,
        optional: bool = False,
    ) -> None:
        parameter = QgsProcessingParameterNumber(
            name, label, QgsProcessingParameterNumber.Double, default, optional, minimum, maximum
        )
        if advanced:
            as_advanced(parameter)
        self.addParameter(parameter)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        from ..core.insar.candidate_field import FieldSettings
        from ..core.insar.candidate_regions import RegionSettings
        from ..core.workflows import velocity_options as options

        regions, field = RegionSettings(), FieldSettings()
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "INPUT", "Existing inventory (for match_rg_id; optional)", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.add_pair_parameters()
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "GLACIERS", "Glacier outlines (moving ice is not a candidate)", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self._own_number(
            "MIN_VELOCITY_CM_YR",
            "Minimum downslope velocity, cm/yr (empty: 10 for a pair, from the noise for a velocity product)",
            None,
            0.0,
            10000.0,
            optional=True,
        )
        self._own_number("MIN_AREA_KM2", "Minimum moving area, km2", regions.min_area_km2, 0.0, 1000.0)
        self._own_number("MIN_COHERENT_SHARE", "Minimum coherent share of a moving area", regions.min_coherent_share, 0.0, 1.0)
        self._own_number("MAX_SLOPE_DEG", "Maximum slope, degrees", field.max_slope_deg, 0.0, 90.0)
        self._own_number("MIN_SNR", "Minimum signal-to-noise ratio of a moving pixel", regions.min_snr, 0.0, 100.0, advanced=True)
        self._own_number(
            "REFERENCE_RADIUS_M", "Local reference radius, metres", field.reference_radius_m, 1.0, 100000.0, advanced=True
        )
        self.add_settings_parameters(tuple(o for o in options.SETTINGS_NUMBERS if o.name != "REFERENCE_RADIUS_M"))
        self.addParameter(QgsProcessingParameterString("ID_PREFIX", "Prefix of candidate rg_id values", "ma"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Moving-area candidates", QgsProcessing.TypeVectorPolygon))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "VELOCITY_CLASS", "Kinematic class of the candidates (raster)", optional=True, createByDefault=False
            )
        )
        self.addOutput(QgsProcessingOutputMultipleLayers("VELOCITY_CLASS_ALL", "Kinematic class rasters, one per pair"))

    def _polygons(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext, with_ids: bool) -> Any:
        from ..core.insar.moving_area_candidates import Polygons

        if not given(parameters, name):
            return None
        source, features = self.source_and_features(parameters, name, context, needs_crs=name)
        has_ids = with_ids and source.fields().lookupField("rg_id") >= 0
        return Polygons(
            [feature_wkb(f) for f in features],
            source.sourceCrs().toWkt(),
            [text_or_none(f["rg_id"]) if has_ids else None for f in features],
        )

    def _moving_settings(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Any:
        from ..core.insar.candidate_field import FieldSettings
        from ..core.insar.candidate_regions import RegionSettings
        from ..core.insar.moving_area_candidates import MovingAreaSettings

        velocity = self._settings(parameters, context)
        number = lambda name: self.parameterAsDouble(parameters, name, context)  # noqa: E731
        field = FieldSettings(
            velocity.min_coherence,
            velocity.min_projection_factor,
            velocity.min_slope_deg,
            number("MAX_SLOPE_DEG"),
            number("REFERENCE_RADIUS_M"),
        )
        min_velocity = number("MIN_VELOCITY_CM_YR") if given(parameters, "MIN_VELOCITY_CM_YR") else None
        regions = RegionSettings(
            min_velocity, number("MIN_SNR"), number("MIN_AREA_KM2"), number("MIN_COHERENT_SHARE"), velocity.noise_correlation_px
        )
        return MovingAreaSettings(field, regions, velocity, self.parameterAsString(parameters, "ID_PREFIX", context).strip())

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Read the pairs, find the moving areas in the core (``insar.moving_area_candidates``), write the candidates and
        the class rasters."""
        from ..core.insar.moving_area_candidates import find_moving_areas
        from ..core.insar.velocity_rasters import per_pair_paths
        from ..core.workflows.velocity import pair_inputs, unique_labels

        settings = self._moving_settings(parameters, context)
        geometry = self._los_geometry(parameters, context, feedback)
        pairs, notes = pair_inputs(self._inputs(parameters, context), geometry, products_folder())
        for note in notes:
            info(feedback, note)
        inventory = self._polygons(parameters, "INPUT", context, with_ids=True)
        class_path = (
            self.parameterAsOutputLayer(parameters, "VELOCITY_CLASS", context) if parameters.get("VELOCITY_CLASS") else None
        )
        class_paths = per_pair_paths(class_path, unique_labels(pairs))
        result = find_moving_areas(
            pairs,
            file_raster_path(self.parameterAsRasterLayer(parameters, "DEM", context), "DEM"),
            geometry,
            settings,
            inventory,
            self._polygons(parameters, "GLACIERS", context, with_ids=False),
            class_paths,
            run_hooks(feedback),
        )
        dest_id = self.write_candidates(parameters, context, QgsCoordinateReferenceSystem.fromWkt(result.crs_wkt), result)
        store_inventory_style(dest_id, feedback)
        new = sum(1 for row in result.rows if not row.get("match_rg_id"))
        info(
            feedback,
            f"{len(result.rows)} moving-area candidate(s), {new} not overlapping a landform of the inventory; review them "
            "in the dock (source = insar).",
        )
        outputs: Dict[str, Any] = {"OUTPUT": dest_id}
        if class_path:
            outputs.update(VELOCITY_CLASS=class_paths[0], VELOCITY_CLASS_ALL=[p for p in class_paths if p])
        return outputs
