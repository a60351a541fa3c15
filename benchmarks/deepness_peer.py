"""The peer, Deepness (PUTvision/qgis-plugin-deepness), timed with its own processing loop, headless.

Its source is not part of this repository: ``DEEPNESS_SRC`` names a checkout's ``src`` folder (or a
git mirror of the repository, whose ``src`` is extracted to a temporary folder). Its segmentation
processor (``MapProcessorSegmentation``) runs as its own tests run it: a raster layer, the model
wrapped in its ``Segmentor``, tiles of the model's size with the model's ``tiles_overlap`` (its
metadata), batch 1, the probability threshold, and its 5 px median post-processing; it needs OpenCV
(opencv-python-headless, in requirements-dev.txt). Without the source, ``deepness_style_loop`` in
``segment_bench`` stands in: a re-implementation of the same loop (named as such in the output).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

KNOWN_MIRRORS = ("/work/.mirror/PUTvision+qgis-plugin-deepness/repo",)


def deepness_source() -> Optional[Path]:
    """The ``src`` folder holding the ``deepness`` package, or None when no copy is on this machine."""
    candidates = [os.environ.get("DEEPNESS_SRC", "")] + list(KNOWN_MIRRORS)
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if (path / "deepness" / "__init__.py").exists():
            return path
        if (path / "src" / "deepness" / "__init__.py").exists():
            return path / "src"
        if (path / "HEAD").exists() or (path / ".git").exists():  # a git mirror: extract its src
            git = ["git", "--git-dir", str(path if (path / "HEAD").exists() else path / ".git")]
            target = Path(tempfile.mkdtemp(prefix="deepness-src-"))
            files = subprocess.run(
                git + ["ls-tree", "-r", "--name-only", "HEAD", "src"], capture_output=True, text=True
            ).stdout.split()
            for name in files:
                if name.endswith((".py", ".txt")):
                    content = subprocess.run(git + ["show", f"HEAD:{name}"], capture_output=True).stdout
                    (target / name).parent.mkdir(parents=True, exist_ok=True)
                    (target / name).write_bytes(content)
            if (target / "src" / "deepness" / "__init__.py").exists():
                return target / "src"
    return None


def run_deepness(source: Path, raster: Path, model_path: Path, threshold: float = 0.5) -> tuple[float, np.ndarray]:
    """Seconds of Deepness' own segmentation of the whole raster, and its result image (class index + 1 per pixel)."""
    from unittest.mock import MagicMock

    from qgis.core import QgsProject, QgsRasterLayer

    if str(source) not in sys.path:
        sys.path.insert(0, str(source))
    from deepness.common.channels_mapping import ChannelsMapping, ImageChannelStandaloneBand
    from deepness.common.processing_overlap import ProcessingOverlap, ProcessingOverlapOptions
    from deepness.common.processing_parameters.map_processing_parameters import ProcessedAreaType
    from deepness.common.processing_parameters.segmentation_parameters import SegmentationParameters
    from deepness.processing.map_processor.map_processor_segmentation import MapProcessorSegmentation
    from deepness.processing.models.segmentor import Segmentor

    layer = QgsRasterLayer(str(raster), "deepness input")
    QgsProject.instance().addMapLayer(layer)
    mapping = ChannelsMapping()
    mapping.set_image_channels(
        [ImageChannelStandaloneBand(band_number=i + 1, name=n) for i, n in enumerate(("red", "green", "blue"))]
    )
    mapping.set_number_of_model_inputs_same_as_image_channels()
    start = time.perf_counter()
    model = Segmentor(str(model_path))
    params = SegmentationParameters(
        resolution_cm_per_px=layer.rasterUnitsPerPixelX() * 100,
        tile_size_px=model.get_input_size_in_pixels()[0],
        batch_size=1,
        local_cache=False,
        processed_area_type=ProcessedAreaType.ENTIRE_LAYER,
        mask_layer_id=None,
        input_layer_id=layer.id(),
        input_channels_mapping=mapping,
        postprocessing_dilate_erode_size=5,
        processing_overlap=ProcessingOverlap(
            ProcessingOverlapOptions.OVERLAP_IN_PERCENT, percentage=model.get_metadata_tiles_overlap() or 15
        ),
        pixel_classification__probability_threshold=threshold,
        model=model,
    )
    processor = MapProcessorSegmentation(rlayer=layer, vlayer_mask=None, map_canvas=MagicMock(), params=params)
    processor.run()
    seconds = time.perf_counter() - start
    result = np.asarray(processor.get_result_img())
    QgsProject.instance().removeMapLayer(layer.id())
    return seconds, result
