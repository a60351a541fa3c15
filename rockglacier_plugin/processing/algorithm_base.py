"""Shared behaviour of every rockglacier algorithm.

Subclasses declare parameters and implement ``run_algorithm``; this base turns the core's errors into
``QgsProcessingException`` (a message in the log, never a traceback), checks optional
dependencies before running, and wires feedback to the core's plain callables.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterDefinition,
    QgsWkbTypes,
)

from ..core.dependencies import installation_text, require
from ..core.errors import MissingDependencyError, RockGlacierError
from ..core.progress import RunHooks


def _in_qgis_process() -> bool:
    from qgis.core import QgsApplication

    application = QgsApplication.instance()
    return application is not None and application.platform() == "qgis_process"


def _own_line(feedback: QgsProcessingFeedback, message: str) -> str:
    """``message``, starting on a new line when qgis_process has printed progress dots since the last message.

    qgis_process prints progress as "0...10...20..." without a line end until 100 %, so a message in between
    would run on from the dots ("...80...904 tile(s)"). The dialog and the Python console show progress as a bar:
    there nothing is added.
    """
    if not _in_qgis_process():
        return message
    progress = feedback.progress()
    printed = 0 if progress <= 0 else min(41, int(progress * 0.4) + 1)  # characters qgis_process has printed
    last = getattr(feedback, "_rockglacier_printed", 0)
    try:
        feedback._rockglacier_printed = printed
    except AttributeError:  # a feedback that takes no attribute: better a rare run-on than none
        return message
    return "\n" + message if last < printed < 41 else message


def info(feedback: QgsProcessingFeedback, message: str) -> None:
    """An information line in the Processing log, on its own line."""
    feedback.pushInfo(_own_line(feedback, message))


def stage(feedback: QgsProcessingFeedback, text: str) -> None:
    """The step the run is at (the dialog's progress label; a line of its own in qgis_process)."""
    feedback.setProgressText(_own_line(feedback, text))


def warn(feedback: QgsProcessingFeedback, message: str) -> None:
    """A warning line in the Processing log (orange in the dialog), on its own line."""
    message = _own_line(feedback, message)
    push = getattr(feedback, "pushWarning", None)
    if push is not None:
        push(message)
    else:  # QGIS < 3.20
        feedback.reportError(message, False)


def _error_once() -> None:
    """In qgis_process, QGIS prints an algorithm's error three times (its message log twice, then "ERROR:"); the
    message log's copies are held back for the exception about to be raised, so the user reads it once. The
    process ends after a failed run, so nothing else of the log is lost; the desktop's log is never touched."""
    if _in_qgis_process():
        from qgis.core import QgsApplication

        QgsApplication.messageLog().blockSignals(True)


def given(parameters: Dict[str, Any], name: str) -> bool:
    """Whether an optional parameter was given: not absent, empty or a null QVariant (a batch's empty cell)."""
    value = parameters.get(name)
    return not (value is None or value == "" or (hasattr(value, "isNull") and value.isNull()))


def products_folder() -> str:
    """Where products are normalised (VRTs of L2A products, unpacked HyP3 zips, converted velocity products): a folder
    of Processing's temporary folder, shared by the runs of a session."""
    from qgis.core import QgsProcessingUtils

    return os.path.join(QgsProcessingUtils.tempFolder(), "rockglacier_products")


def as_advanced(parameter: Any) -> Any:
    """``parameter`` marked as advanced (shown under "Advanced parameters" in the dialog); returned for chaining."""
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


def run_hooks(feedback: QgsProcessingFeedback, start: float = 0.0, share: float = 1.0) -> RunHooks:
    """The core's ``RunHooks`` on this feedback: progress mapped onto ``start`` .. ``start + share`` of the bar,
    cancel from the dialog, the core's messages in the log."""
    return RunHooks(
        lambda fraction: feedback.setProgress(100.0 * (start + share * fraction)),
        feedback.isCanceled,
        lambda message: info(feedback, message),
    )


@contextmanager
def removed_on_failure(paths: Sequence[str]) -> Iterator[None]:
    """Files this block writes are removed (with their .aux.xml and .qml) when it raises or is cancelled, so a failed run
    leaves nothing that looks finished; a file the block did not touch (same modification time) stays."""
    before = {path: os.stat(path).st_mtime_ns if os.path.exists(path) else None for path in paths}
    try:
        yield
    except BaseException:
        for path, mtime in before.items():
            if os.path.exists(path) and os.stat(path).st_mtime_ns != mtime:
                for leftover in (path, path + ".aux.xml", os.path.splitext(path)[0] + ".qml"):
                    if os.path.exists(leftover):
                        os.remove(leftover)
        raise


class RockGlacierAlgorithm(QgsProcessingAlgorithm):
    """Base class: one algorithm = parameters + one core call."""

    #: (module, pip requirement) pairs this algorithm imports when it runs.
    REQUIRED_MODULES: Sequence[Tuple[str, str]] = (("numpy", "numpy"), ("osgeo.gdal_array", "GDAL"))
    ALGORITHM_ID = ""
    DISPLAY_NAME = ""
    HELP = ""
    GROUP = ("Inventory", "inventory")  # (toolbox group, its id)
    #: The parameter that may also hold Sentinel-2 L2A products (SAFE folder, MTD_MSIL2A.xml, zip, STAC item),
    #: which are no layers: ``checkParameterValues`` lets them through (None: no such parameter).
    PRODUCT_PARAMETER: Optional[str] = None

    def name(self) -> str:
        """The algorithm's id within the provider (``ALGORITHM_ID``)."""
        return self.ALGORITHM_ID

    def displayName(self) -> str:  # noqa: N802
        """The title shown in the Processing toolbox (``DISPLAY_NAME``)."""
        return self.DISPLAY_NAME

    def group(self) -> str:
        """The toolbox group the algorithm is listed under."""
        return self.GROUP[0]

    def groupId(self) -> str:  # noqa: N802
        """The id of that group."""
        return self.GROUP[1]

    def shortHelpString(self) -> str:  # noqa: N802
        """The help shown beside the dialog (``HELP``)."""
        return self.HELP

    def products(self, parameters: Dict[str, Any]) -> List[str]:
        """The Sentinel-2 L2A products given in ``PRODUCT_PARAMETER`` (one value or a list)."""
        from ..core.mapping.sentinel2_product import is_product

        values = parameters.get(self.PRODUCT_PARAMETER) if self.PRODUCT_PARAMETER else None
        return [v for v in (values if isinstance(values, list) else [values]) if isinstance(v, str) and is_product(v)]

    def checkParameterValues(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> Tuple[bool, str]:  # noqa: N802
        """QGIS's checks, except that ``PRODUCT_PARAMETER`` may hold L2A products, which QGIS cannot load as layers."""
        if not self.products(parameters):
            return super().checkParameterValues(parameters, context)
        for definition in self.parameterDefinitions():
            if definition.name() != self.PRODUCT_PARAMETER and not definition.checkValueIsAcceptable(
                parameters.get(definition.name()), context
            ):
                return False, f"Incorrect parameter value for {definition.name()}"
        return True, ""

    def createInstance(self) -> "RockGlacierAlgorithm":  # noqa: N802
        """A new instance, as Processing asks for one per run."""
        return type(self)()

    def processAlgorithm(  # noqa: N802
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        """Processing's entry point: ``run_algorithm`` with the core's errors turned into messages that say what to do, and
        its outputs removed when it fails or is cancelled."""
        try:
            for module_name, requirement in self.REQUIRED_MODULES:
                require(module_name, requirement, f"rockglacier:{self.ALGORITHM_ID}")
            self._refuse_shapefile_destinations(parameters)
            return self.run_algorithm(parameters, context, feedback)
        except MissingDependencyError as exc:
            # the same report as Plugins > Rock glacier inventory > Check installation
            info(feedback, "Optional packages in this QGIS's Python:\n" + installation_text())
            _error_once()
            raise QgsProcessingException(str(exc)) from exc
        except RockGlacierError as exc:
            _error_once()
            raise QgsProcessingException(str(exc)) from exc
        except QgsProcessingException:
            _error_once()
            raise

    def _refuse_shapefile_destinations(self, parameters: Dict[str, Any]) -> None:
        """Before any work: a vector output given as a shapefile would cut the inventory's field names (see layers)."""
        from qgis.core import QgsProcessingParameterFeatureSink

        from .layers import destination_path, refuse_short_field_names

        for definition in self.parameterDefinitions():
            if isinstance(definition, QgsProcessingParameterFeatureSink):
                refuse_short_field_names(
                    destination_path(parameters.get(definition.name()))[0], definition.name(), "rock_glaciers"
                )

    def source_and_features(
        self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext, needs_crs: Optional[str] = None
    ) -> Tuple[Any, List[QgsFeature]]:
        """The feature source ``name`` and all its features, geometries as they are (the core repairs
        them); with ``needs_crs`` (what to call the layer), a source without a CRS is refused."""
        source = self.parameterAsSource(parameters, name, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, name))
        if source.wkbType() == QgsWkbTypes.NoGeometry:
            raise QgsProcessingException(
                f"{name} ('{source.sourceName()}') is a table without geometries; give a layer of polygons (a table has "
                "no outlines to work on)."
            )
        if needs_crs and not source.sourceCrs().isValid():
            raise QgsProcessingException(f"The {needs_crs} has no CRS; set it in Layer Properties > Source and run again.")
        skip_checks = QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks
        return source, list(source.getFeatures(QgsFeatureRequest(), skip_checks))

    def write_candidates(self, parameters: Dict[str, Any], context: QgsProcessingContext, crs: Any, candidates: Any) -> str:
        """OUTPUT as an inventory layer (``rock_glaciers`` in a GeoPackage): ``candidates.rows`` (inventory fields per
        polygon) with the polygons ``candidates.wkb`` as multipolygons in ``crs``; returns the destination id."""
        from ..core.inventory.schema import ROCK_GLACIER_LAYER
        from ..qgis_shared.fields import inventory_fields
        from .layers import LayerSpec, layer_sink

        fields, _ = inventory_fields(QgsFields(), ())
        sink, dest_id = layer_sink(
            self, parameters, "OUTPUT", context, LayerSpec(fields, QgsWkbTypes.MultiPolygon, crs, ROCK_GLACIER_LAYER)
        )
        for values, wkb in zip(candidates.rows, candidates.wkb):
            feature = QgsFeature(fields)
            geometry = QgsGeometry()
            geometry.fromWkb(wkb)
            geometry.convertToMultiType()
            feature.setGeometry(geometry)
            for name, value in values.items():
                feature[name] = value
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return dest_id

    def run_algorithm(
        self,
        parameters: Dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> Dict[str, Any]:
        """The algorithm's work (each subclass's): read the parameters, call the core, write the outputs."""
        raise NotImplementedError
