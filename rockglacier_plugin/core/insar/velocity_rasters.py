"""Writing the LOS and downslope velocity rasters of one interferogram, block by block.

Values are cm/yr, float32, no-data -9999. The LOS raster (towards the satellite) has the scene's
ramp removed and is referenced to the median of stable coherent ground over the whole scene, so
it displays well; the per-landform values use local references instead (``landform_velocity``).
The downslope raster divides by the projection factor and masks low coherence, small |g| and
gentle slopes, as the per-landform statistics do.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ParameterError
from ..progress import Progress
from ..raster.io import BandInfo, create_geotiff
from ..raster.staged import staged_outputs
from ..raster.units import UNIT_CM_PER_YR
from ..raster.windows import Window
from .scene import InsarScene

NODATA = -9999.0
BLOCK_ROWS = 256
#: Progress steps a pair's raster writing counts for (spread over its blocks).
RASTER_PROGRESS_STEPS = 20


def _create(path: str, scene: InsarScene, description: str) -> Any:
    from osgeo import gdal

    grid = scene.grid
    dataset = create_geotiff(
        path,
        (grid.width_px, grid.height_px),
        grid.geotransform,
        grid.crs_wkt,
        gdal.GDT_Float32,
        ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"],
        band_info=BandInfo(nodata=NODATA, description=description, unit=UNIT_CM_PER_YR),
    )
    dataset.SetMetadata({"PAIR": scene.interferogram.pair_label, "UNITS": "cm/yr"})
    return dataset


def per_pair_paths(path: Optional[str], pair_labels: Sequence[str], several: Optional[bool] = None) -> list[Optional[str]]:
    """Output names of the pairs ``pair_labels``: ``<stem>_<pair label><ext>`` when the run has several pairs
    (``several``: default, more than one label; a region task knows only its own pair's label), else the name itself.

    >>> per_pair_paths("/out/v_dslp.tif", ["20070716-20070831", "20070831-20071016"])
    ['/out/v_dslp_20070716-20070831.tif', '/out/v_dslp_20070831-20071016.tif']
    >>> per_pair_paths("/out/v.tif", ["20070716-20070831"]), per_pair_paths(None, ["a", "b"])
    (['/out/v.tif'], [None, None])
    >>> per_pair_paths("/out/v.tif", ["20070716-20070831"], several=True)
    ['/out/v_20070716-20070831.tif']
    """
    if not path:
        return [None] * len(pair_labels)
    if not (len(pair_labels) > 1 if several is None else several):
        return [path] * len(pair_labels)
    if len(set(pair_labels)) != len(pair_labels):
        raise ParameterError(
            f"Two interferograms have the same dates ({', '.join(pair_labels)}): their rasters would overwrite each "
            "other. Give each pair once, or run them separately."
        )
    stem, extension = os.path.splitext(path)
    return [f"{stem}_{label}{extension or '.tif'}" for label in pair_labels]


def write_velocity_rasters(
    scene: InsarScene,
    los_path: Optional[str],
    downslope_path: Optional[str],
    min_coherence: float,
    min_projection_factor: float,
    min_slope_deg: float,
    progress: Optional[Progress] = None,
    progress_steps: int = 0,
) -> None:
    """Write the requested rasters on the interferogram grid.

    Each file is written under a partial name and renamed when complete (``raster.staged``), so a
    cancelled or failed run leaves no raster that looks finished.
    """
    requested = [
        (kind, path, description)
        for kind, path, description in (
            ("los", los_path, "LOS velocity towards the satellite, cm/yr"),
            ("dslp", downslope_path, "downslope velocity, cm/yr"),
        )
        if path
    ]
    if not requested:
        return
    with staged_outputs([path for _, path, _ in requested]) as partials:
        outputs = [(kind, _create(partial, scene, description)) for (kind, _, description), partial in zip(requested, partials)]
        try:
            _write_blocks(scene, outputs, min_coherence, min_projection_factor, min_slope_deg, progress, progress_steps)
        finally:
            outputs.clear()  # closes the datasets before the rename or the removal


def _write_blocks(
    scene: InsarScene,
    outputs: list,
    min_coherence: float,
    min_projection_factor: float,
    min_slope_deg: float,
    progress: Optional[Progress],
    progress_steps: int = 0,
) -> None:
    n_blocks = max(1, -(-scene.grid.height_px // BLOCK_ROWS))
    for index, row in enumerate(range(0, scene.grid.height_px, BLOCK_ROWS)):
        window = Window(0, row, scene.grid.width_px, min(BLOCK_ROWS, scene.grid.height_px - row))
        data = scene.read(window)
        coherent = np.isfinite(data.velocity_los_cm_per_yr) & (data.coherence >= min_coherence)
        for kind, dataset in outputs:
            if kind == "los":
                values = np.where(coherent, data.velocity_los_cm_per_yr, NODATA)
            else:
                keep = (
                    coherent
                    & np.isfinite(data.projection)
                    & (np.abs(data.projection) >= min_projection_factor)
                    & (data.slope_deg >= min_slope_deg)
                )
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = np.where(keep, data.velocity_los_cm_per_yr / data.projection, NODATA)
            dataset.GetRasterBand(1).WriteArray(values.astype(np.float32), 0, row)
        if progress is not None:
            steps = (index + 1) * progress_steps // n_blocks - index * progress_steps // n_blocks
            progress.advance(steps) if steps else progress.check_cancelled()
    for _, dataset in outputs:
        dataset.FlushCache()
