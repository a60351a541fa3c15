"""The ``rockglacier`` Processing provider."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .adapt_model_algorithm import SETTING as TRAINING_PYTHON_SETTING
from .adapt_model_algorithm import AdaptModelAlgorithm
from .attributes_algorithm import AttributesAlgorithm
from .evaluate_algorithm import EvaluateAlgorithm
from .feature_tracking_algorithm import FeatureTrackingAlgorithm
from .insar_velocity_algorithm import InsarVelocityAlgorithm
from .moving_areas_algorithm import MovingAreasAlgorithm
from .report_algorithm import ReportAlgorithm
from .rgik_export_algorithm import RgikExportAlgorithm
from .rgv_export_algorithm import RgvExportAlgorithm
from .segment_algorithm import SegmentAlgorithm
from .training_patches_algorithm import TrainingPatchesAlgorithm
from .unwrap_algorithm import UnwrapAlgorithm

ALGORITHM_CLASSES = (
    AdaptModelAlgorithm,
    AttributesAlgorithm,
    EvaluateAlgorithm,
    FeatureTrackingAlgorithm,
    InsarVelocityAlgorithm,
    MovingAreasAlgorithm,
    ReportAlgorithm,
    RgikExportAlgorithm,
    RgvExportAlgorithm,
    SegmentAlgorithm,
    TrainingPatchesAlgorithm,
    UnwrapAlgorithm,
)


class RockGlacierProvider(QgsProcessingProvider):
    """Registers every rockglacier algorithm. Loads even when optional packages are missing:
    algorithms check their dependencies when they run."""

    def id(self) -> str:
        """The provider's id, the prefix of every algorithm's id (``rockglacier:``)."""
        return "rockglacier"

    def name(self) -> str:
        """The provider's name in the toolbox."""
        return "Rock glacier inventory"

    def longName(self) -> str:  # noqa: N802
        """The provider's name with its version."""
        return "Rock glacier inventory (InSAR kinematics, deep-learning mapping, attributes)"

    def icon(self) -> QIcon:
        """The provider's icon."""
        return QIcon(os.path.join(os.path.dirname(os.path.dirname(__file__)), "icon.svg"))

    def load(self) -> bool:
        """Adds the provider's setting (Processing > Options > Providers): the Python with PyTorch that adaptmodel runs."""
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except (
            ImportError
        ):  # no Processing plugin (a bare QgsApplication): the setting is read from QgsSettings or the environment
            return super().load()
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(
            Setting(
                self.name(),
                TRAINING_PYTHON_SETTING,
                "Python with PyTorch for rockglacier:adaptmodel (empty: QGIS's own)",
                "",
                valuetype=Setting.FILE,
            )
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        """Remove the provider's settings from Processing's options when the plugin unloads."""
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:
            return
        ProcessingConfig.settings.pop(TRAINING_PYTHON_SETTING, None)

    def loadAlgorithms(self) -> None:  # noqa: N802
        """Add every algorithm of ``ALGORITHMS``."""
        for algorithm_class in ALGORITHM_CLASSES:
            self.addAlgorithm(algorithm_class())
