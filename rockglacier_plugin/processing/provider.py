"""The ``rockglacier`` Processing provider."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .attributes_algorithm import AttributesAlgorithm
from .evaluate_algorithm import EvaluateAlgorithm
from .insar_velocity_algorithm import InsarVelocityAlgorithm
from .report_algorithm import ReportAlgorithm
from .rgik_export_algorithm import RgikExportAlgorithm
from .segment_algorithm import SegmentAlgorithm
from .training_patches_algorithm import TrainingPatchesAlgorithm
from .unwrap_algorithm import UnwrapAlgorithm

ALGORITHM_CLASSES = (
    AttributesAlgorithm, EvaluateAlgorithm, InsarVelocityAlgorithm, ReportAlgorithm, RgikExportAlgorithm, SegmentAlgorithm,
    TrainingPatchesAlgorithm, UnwrapAlgorithm,
)


class RockGlacierProvider(QgsProcessingProvider):
    """Registers every rockglacier algorithm. Loads even when optional packages are missing:
    algorithms check their dependencies when they run."""

    def id(self) -> str:
        return "rockglacier"

    def name(self) -> str:
        return "Rock glacier inventory"

    def longName(self) -> str:  # noqa: N802
        return "Rock glacier inventory (InSAR kinematics, deep-learning mapping, attributes)"

    def icon(self) -> QIcon:
        return QIcon(os.path.join(os.path.dirname(os.path.dirname(__file__)), "icon.svg"))

    def loadAlgorithms(self) -> None:  # noqa: N802
        for algorithm_class in ALGORITHM_CLASSES:
            self.addAlgorithm(algorithm_class())
