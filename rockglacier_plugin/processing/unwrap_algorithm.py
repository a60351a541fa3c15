"""``rockglacier:unwrap``: SNAPHU phase unwrapping of a wrapped complex interferogram."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..qgis_shared.features import file_raster_path
from .algorithm_base import RockGlacierAlgorithm, info, run_hooks

COSTS = ["defo", "smooth"]
INITS = ["mst", "mcf"]

HELP = """
<p>Unwraps a wrapped <b>complex</b> interferogram (e.g. ISCE2 filt_topophase.flat) with SNAPHU
2.0.7 through the PyPI package <i>snaphu</i>, which ships the SNAPHU binary for Linux x86_64 and
macOS arm64 (there is no Windows build: unwrap on Linux/macOS, or with ISCE2's own SNAPHU run, and
bring the .unw here). Outputs: the unwrapped phase (radians, float32) and SNAPHU's connected
components (0 = not unwrapped), both with the input's georeferencing.</p>
<p>COST: <i>defo</i> (deformation, the right choice for creeping landforms) or <i>smooth</i>.
INIT: <i>mst</i> (minimum spanning tree, default) or <i>mcf</i> (minimum cost flow).
<b>Licence caveat:</b> SNAPHU's MCF initialisation code may be used for non-commercial purposes
only; choose mcf only if that applies to you. LOOKS is the effective number of looks of the
coherence estimate. Pixels with coherence at or below MASK_COHERENCE are masked.</p>
"""


class UnwrapAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:unwrap``: a wrapped interferogram unwrapped with SNAPHU (and its connected components)."""

    ALGORITHM_ID = "unwrap"
    DISPLAY_NAME = "Unwrap interferogram (SNAPHU)"
    HELP = HELP
    GROUP = ("InSAR kinematics", "insar")
    REQUIRED_MODULES = RockGlacierAlgorithm.REQUIRED_MODULES + (("snaphu", "snaphu"),)

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Wrapped interferogram (complex)"))
        self.addParameter(QgsProcessingParameterBand("INPUT_BAND", "Interferogram band", 1, "INPUT", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("COHERENCE", "Coherence"))
        self.addParameter(QgsProcessingParameterBand("COHERENCE_BAND", "Coherence band", 1, "COHERENCE", optional=True))
        self.addParameter(
            QgsProcessingParameterNumber(
                "LOOKS", "Effective number of looks", QgsProcessingParameterNumber.Double, 10.0, False, 1.0
            )
        )
        self.addParameter(QgsProcessingParameterEnum("COST", "Cost mode", COSTS, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterEnum("INIT", "Initialisation (mcf: non-commercial use only)", INITS, defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MASK_COHERENCE",
                "Mask pixels with coherence at or below",
                QgsProcessingParameterNumber.Double,
                0.0,
                False,
                0.0,
                1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "TILES", "SNAPHU tiles per side (1 = no tiling)", QgsProcessingParameterNumber.Integer, 1, False, 1, 32
            )
        )
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Unwrapped phase (radians)"))
        self.addParameter(QgsProcessingParameterRasterDestination("COMPONENTS", "Connected components"))

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Check for SNAPHU, run it on the interferogram and coherence, write the unwrapped phase and the components."""
        from ..core.insar.unwrap import UnwrapSettings, unwrap_files

        tiles = self.parameterAsInt(parameters, "TILES", context)
        settings = UnwrapSettings(
            looks=self.parameterAsDouble(parameters, "LOOKS", context),
            cost=COSTS[self.parameterAsEnum(parameters, "COST", context)],
            init=INITS[self.parameterAsEnum(parameters, "INIT", context)],
            tiles=(tiles, tiles),
            tile_overlap_px=64 if tiles > 1 else 0,
            min_coherence=self.parameterAsDouble(parameters, "MASK_COHERENCE", context),
        )
        unwrapped = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        components = self.parameterAsOutputLayer(parameters, "COMPONENTS", context)
        summary = unwrap_files(
            file_raster_path(self.parameterAsRasterLayer(parameters, "INPUT", context), "interferogram"),
            file_raster_path(self.parameterAsRasterLayer(parameters, "COHERENCE", context), "coherence"),
            unwrapped,
            components,
            settings,
            self.parameterAsInt(parameters, "INPUT_BAND", context) or 1,
            self.parameterAsInt(parameters, "COHERENCE_BAND", context) or 1,
            run_hooks(feedback),
        )
        info(
            feedback,
            f"SNAPHU found {summary['components']} connected component(s); "
            f"{100 * summary['unwrapped_fraction']:.1f} % of the pixels are unwrapped.",
        )
        return {"OUTPUT": unwrapped, "COMPONENTS": components}
