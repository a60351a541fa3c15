"""Shared behaviour of every rockglacier algorithm.

Subclasses declare parameters and implement ``run_algorithm``; this base turns the core's errors into
``QgsProcessingException`` (a message in the log, never a traceback), checks optional
dependencies before running, and wires feedback to the core's plain callables.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
)

from ..core.dependencies import installation_text, require
from ..core.errors import MissingDependencyError, RockGlacierError


def warn(feedback: QgsProcessingFeedback, message: str) -> None:
    """A warning line in the Processing log (orange in the dialog)."""
    push = getattr(feedback, "pushWarning", None)
    if push is not None:
        push(message)
    else:  # QGIS < 3.20
        feedback.reportError(message, False)


def callbacks(feedback: QgsProcessingFeedback) -> Tuple[Callable[[float], None], Callable[[], bool]]:
    """(on_progress, is_cancelled) for core functions."""
    return (lambda fraction: feedback.setProgress(100.0 * fraction)), feedback.isCanceled


class RockGlacierAlgorithm(QgsProcessingAlgorithm):
    """Base class: one algorithm = parameters + one core call."""

    #: (module, pip requirement) pairs this algorithm imports when it runs.
    REQUIRED_MODULES: Sequence[Tuple[str, str]] = (("numpy", "numpy<2"), ("osgeo.gdal_array", "GDAL"))
    ALGORITHM_ID = ""
    DISPLAY_NAME = ""
    HELP = ""

    def name(self) -> str:
        return self.ALGORITHM_ID

    def displayName(self) -> str:  # noqa: N802
        return self.DISPLAY_NAME

    def group(self) -> str:
        return "Inventory"

    def groupId(self) -> str:  # noqa: N802
        return "inventory"

    def shortHelpString(self) -> str:  # noqa: N802
        return self.HELP

    def createInstance(self) -> "RockGlacierAlgorithm":  # noqa: N802
        return type(self)()

    def processAlgorithm(  # noqa: N802
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        try:
            for module_name, requirement in self.REQUIRED_MODULES:
                require(module_name, requirement, f"rockglacier:{self.ALGORITHM_ID}")
            return self.run_algorithm(parameters, context, feedback)
        except MissingDependencyError as exc:
            # the same report as Plugins > Rock glacier inventory > Check installation
            feedback.pushInfo("Optional packages in this QGIS's Python:\n" + installation_text())
            raise QgsProcessingException(str(exc)) from exc
        except RockGlacierError as exc:
            raise QgsProcessingException(str(exc)) from exc

    def source_and_features(self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext,
                            needs_crs: Optional[str] = None) -> Tuple[Any, List[QgsFeature]]:
        """The feature source ``name`` and all its features, geometries as they are (the core repairs
        them); with ``needs_crs`` (what to call the layer), a source without a CRS is refused."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        if needs_crs and not source.sourceCrs().isValid():
            raise QgsProcessingException(f"The {needs_crs} has no CRS; set it in Layer Properties > Source and run again.")
        skip_checks = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
        return source, list(source.getFeatures(QgsFeatureRequest(), skip_checks))

    def run_algorithm(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        raise NotImplementedError
