"""``rockglacier:adaptmodel``: fine-tune the segmentation model to a region from its reviewed inventory.

QGIS's process never imports PyTorch: the algorithm writes the layers to a work folder and runs
``python -m training adapt`` (``training/loop/adapt.py``, bundled with the plugin) in a Python that has PyTorch
(the Processing setting *Python with PyTorch for rockglacier:adaptmodel*, which ``make setup`` sets; else
QGIS's own), reads its progress lines, and stops it when the user cancels.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
    QgsSettings,
)

from ..qgis_shared.features import feature_record, feature_wkb, file_raster_path, likely_imagery_layer
from .algorithm_base import RockGlacierAlgorithm, as_advanced, info, stage, warn

SETTING = "ROCKGLACIER_TRAINING_PYTHON"
SETTING_KEY = f"Processing/Configuration/{SETTING}"

HELP = """
<p>Adapts the segmentation model to your region from your own review: the candidates you <b>accepted</b> or
<b>modified</b> in the review dock are rock glaciers, the ones you <b>rejected</b> are negative areas, the ones
not reviewed yet teach nothing; a layer without a <i>review</i> field counts as an inventory (all rock
glaciers), and NEGATIVES adds areas without rock glaciers. Patches are cut around them and from the rest
of INPUT (Sentinel-2 L2A products and stacks are rendered as the model's training imagery was), the
BASE_MODEL (empty: the shipped model) is fine-tuned on them for at most MAX_MINUTES, keeping its own
answers as a second target so that a few landforms do not make it forget the rest, and OUTPUT_MODEL is
written with a card beside it: what it was trained on, and the adapted and the base model's object recall,
false candidates per km2 and pixel IoU on a quarter of your rock glaciers held out (with 4 or more; with
fewer, all train, the base model's threshold is kept and the card says there is no held-out estimate).
The threshold is chosen on the held-out part (never above the base model's). Then run <i>rockglacier:segment</i> with MODEL =
OUTPUT_MODEL,
and review its candidates as before: measured on a Chilean site the shipped model never saw (5-20
reviewed chips, 10 minutes), adapting cut the false candidates 3-6 fold (chips with one: 12.5 % to 2-4 %)
and found 5-8 points fewer of the site's other rock glaciers (82 % against 90 %): fewer candidates to
reject, a few more to draw (docs/mapping.md, <i>Adapting the model to your region</i>).</p>
<p>Training runs in a separate Python with PyTorch (<code>python -m training adapt</code>, the same command
the README gives), named in Processing &gt; Options &gt; Providers &gt; Rock glacier inventory, else QGIS's own;
progress streams into this log and Cancel stops it (nothing is written). On this project's 2-core CPU
20 minutes make about 60 epochs of 48 composed 256 px samples.</p>
"""


def training_python() -> str:
    """The Python that runs the training: the Processing setting, else ROCKGLACIER_TRAINING_PYTHON, else QGIS's own."""
    from ..core.dependencies import current_layout, qgis_python

    configured = str(QgsSettings().value(SETTING_KEY, "") or "").strip() or os.environ.get(SETTING, "").strip()
    return configured or qgis_python(current_layout())


def training_paths() -> List[str]:
    """What PYTHONPATH needs for ``python -m training`` and ``rockglacier_plugin``: in an installed plugin the training
    package bundled in ``rockglacier_plugin/bundled`` (tools/package.py) and the plugins folder; in a checkout the repository."""
    plugin = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bundled = os.path.join(plugin, "bundled")
    return [bundled, os.path.dirname(plugin)] if os.path.isdir(os.path.join(bundled, "training")) else [os.path.dirname(plugin)]


def check_python(python: str) -> None:
    """Refuse, with the fix, a Python that cannot run the training."""
    from ..core.dependencies import TRAINING_PACKAGES, training_install_advice, training_python_missing

    missing, version = training_python_missing(python)
    if version.startswith("cannot"):
        raise QgsProcessingException(
            f"The training Python '{python}' {version}. Set *Python with PyTorch* in Processing > "
            "Options > Providers > Rock glacier inventory."
        )
    if missing:
        raise QgsProcessingException(
            f"'{python}' has no PyTorch (or lacks {', '.join(TRAINING_PACKAGES)}: it misses {', '.join(missing)}): adapting a "
            f"model needs it. Either {training_install_advice(python)}."
        )


class AdaptModelAlgorithm(RockGlacierAlgorithm):
    """``rockglacier:adaptmodel``: the model fine-tuned on the user's reviewed inventory, in a PyTorch process of its own."""

    ALGORITHM_ID = "adaptmodel"
    DISPLAY_NAME = "Adapt the model to a region from the review (fine-tuning)"
    HELP = HELP
    GROUP = ("Deep-learning mapping", "deeplearning")
    PRODUCT_PARAMETER = "INPUT"

    def initAlgorithm(self, config: Optional[Dict[str, Any]] = None) -> None:  # noqa: N802
        """The algorithm's parameters, as ``HELP`` describes them."""
        imagery = likely_imagery_layer()
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "INPUT",
                "Images of the region (8-bit RGB, Sentinel-2 L2A stacks or products)",
                QgsProcessing.TypeRaster,
                [imagery] if imagery else None,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "INVENTORY",
                "Reviewed polygons (accepted/modified = rock glacier, rejected = negative) or an inventory",
                [QgsProcessing.TypeVectorPolygon],
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "NEGATIVES", "Areas without rock glaciers", [QgsProcessing.TypeVectorPolygon], optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                "BASE_MODEL", "Model to adapt (empty = the shipped model)", extension="onnx", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MAX_MINUTES", "Time budget, minutes", QgsProcessingParameterNumber.Double, 20.0, False, 0.1, 10000.0
            )
        )
        for name, label, default, minimum in (
            ("CONTEXT_M", "Context around each landform in its patches, metres", 500.0, 0.0),
            ("L2A_ADD_OFFSET", "L2A offset in DN (BOA_ADD_OFFSET; empty = the product's own)", None, -1e5),
        ):
            parameter = QgsProcessingParameterNumber(
                name, label, QgsProcessingParameterNumber.Double, default, default is None, minimum, 1e5
            )
            as_advanced(parameter)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_MODEL", "Adapted model", "ONNX models (*.onnx)"))
        self.addOutput(QgsProcessingOutputFile("CARD", "Adapted model's card (HTML)"))

    def run_algorithm(
        self, parameters: Dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> Dict[str, Any]:
        """Check the review and the training Python, run ``python -m training adapt`` as a child process (Cancel stops it),
        then report the adapted model's card."""
        python = training_python()
        stage(feedback, "Checking the training Python")
        check_python(python)
        work = os.path.join(QgsProcessingUtils.tempFolder(), f"rockglacier_adapt_{int(time.time() * 1000)}")
        os.makedirs(work, exist_ok=True)
        command = [
            python,
            "-m",
            "training",
            "adapt",
            "--images",
            *self._images(parameters, context),
            "--inventory",
            self._layer_file(parameters, "INVENTORY", context, work, feedback),
            "--max-minutes",
            str(self.parameterAsDouble(parameters, "MAX_MINUTES", context)),
            "--context-m",
            str(self.parameterAsDouble(parameters, "CONTEXT_M", context)),
            "--output",
            self.parameterAsFileOutput(parameters, "OUTPUT_MODEL", context),
            "--work-dir",
            work,
            "--progress-json",
        ]
        if self.parameterAsSource(parameters, "NEGATIVES", context) is not None:
            command += ["--negatives", self._layer_file(parameters, "NEGATIVES", context, work, feedback)]
        if self.parameterAsFile(parameters, "BASE_MODEL", context):
            command += ["--base-model", self.parameterAsFile(parameters, "BASE_MODEL", context)]
        if parameters.get("L2A_ADD_OFFSET") not in (None, ""):
            command += ["--l2a-add-offset", str(self.parameterAsDouble(parameters, "L2A_ADD_OFFSET", context))]
        info(feedback, f"Training in {python}: python -m training adapt ...")
        result = run_training(command, feedback, self.parameterAsDouble(parameters, "MAX_MINUTES", context))
        return {"OUTPUT_MODEL": result["output"], "CARD": result["card"]}

    def _images(self, parameters: Dict[str, Any], context: QgsProcessingContext) -> List[str]:
        values = parameters.get("INPUT") or []
        products = self.products(parameters)
        layers = [v for v in (values if isinstance(values, list) else [values]) if v not in products]
        return products + [
            file_raster_path(layer, "image") for layer in self.parameterAsLayerList({"INPUT": layers}, "INPUT", context)
        ]

    def _layer_file(
        self, parameters: Dict[str, Any], name: str, context: QgsProcessingContext, work: str, feedback: QgsProcessingFeedback
    ) -> str:
        """The layer as a GeoPackage the training reads (rg_id and review kept)."""
        from ..core.inventory.layer_io import write_layer
        from ..core.inventory.schema import field_spec

        source, features = self.source_and_features(parameters, name, context, needs_crs=name.lower())
        records = [feature_record(f) for f in features]
        names = [n for n in ("rg_id", "review") if source.fields().lookupField(n) >= 0]
        if name == "INVENTORY" and "review" not in names:
            info(feedback, "The layer has no review field: every polygon is taken as a rock glacier (an inventory).")
        path = os.path.join(work, f"{name.lower()}.gpkg")
        write_layer(
            path,
            name.lower(),
            tuple(field_spec(n) for n in names),
            [{n: r.get(n) for n in names} for r in records],
            [feature_wkb(f) for f in features],
            source.sourceCrs().toWkt(),
        )
        return path


def _reader(stream: Any, lines: "queue.Queue[Tuple[str, Optional[str]]]", kind: str) -> None:
    for line in iter(stream.readline, ""):
        lines.put((kind, line.rstrip("\n")))
    lines.put((kind, None))


def run_training(command: List[str], feedback: QgsProcessingFeedback, max_minutes: float) -> Dict[str, str]:
    """Run ``python -m training adapt``, stream its progress, stop it on cancel; the paths it wrote."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(training_paths() + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env) as process:
        errors, final = _follow(process, feedback, max_minutes)
    if process.returncode != 0 or "output" not in final:
        message = next((e.removeprefix("error: ") for e in reversed(errors) if e.startswith("error: ")), "\n".join(errors[-12:]))
        raise QgsProcessingException(f"Adapting the model failed: {message}")
    return final


def _follow(process: subprocess.Popen, feedback: QgsProcessingFeedback, max_minutes: float) -> Tuple[List[str], Dict[str, str]]:
    """Stream the process's progress into the log until it ends; stop it on cancel or far past its budget."""
    from ..core.errors import OperationCancelled

    lines: "queue.Queue[Tuple[str, Optional[str]]]" = queue.Queue()
    for stream, kind in ((process.stdout, "out"), (process.stderr, "err")):
        threading.Thread(target=_reader, args=(stream, lines, kind), daemon=True).start()
    errors: List[str] = []
    final: Dict[str, str] = {}
    deadline = time.time() + 60 * (2 * max_minutes + 10)
    open_streams = 2
    while open_streams:
        if feedback.isCanceled() or time.time() > deadline:
            _stop(process)
            if feedback.isCanceled():
                raise OperationCancelled("Cancelled: the training was stopped and no model was written.")
            raise QgsProcessingException("The training ran far past MAX_MINUTES and was stopped; no model was written.")
        try:
            kind, line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
        elif kind == "err":
            errors = (errors + [line])[-40:]
        else:
            final.update(_progress(line, feedback))
    process.wait()
    return errors, final


def _progress(line: str, feedback: QgsProcessingFeedback) -> Dict[str, str]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        info(feedback, line)
        return {}
    feedback.setProgress(100.0 * float(event.get("progress", 0.0)))
    message = str(event.get("message", ""))
    if message.startswith("{"):  # the last line: where the outputs are
        return json.loads(message)
    (warn if message.startswith("Only ") or "no held-out" in message else info)(feedback, message)
    return {}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
