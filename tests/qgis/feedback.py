"""A Processing feedback that keeps what an algorithm tells the user, for assertions."""

from qgis.core import QgsProcessingFeedback


class RecordingFeedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.warnings, self.infos = [], []

    def pushWarning(self, text):  # noqa: N802
        self.warnings.append(text)

    def pushInfo(self, text):  # noqa: N802
        self.infos.append(text)

    def text(self) -> str:
        """Everything told, information and warnings, one line each."""
        return "\n".join(self.infos + self.warnings)
