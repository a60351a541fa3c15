"""Phase unwrapping with SNAPHU through the PyPI package ``snaphu`` (isce-framework/snaphu-py).

The package ships the SNAPHU 2.0.7 binary in its Linux x86_64 and macOS arm64 wheels (not on
Windows). SNAPHU's minimum-cost-flow initialisation (``init="mcf"``) is licensed for
non-commercial use only; the default here is the minimum spanning tree (``init="mst"``).

Inputs are read whole: SNAPHU needs the full interferogram; ``ntiles`` lets SNAPHU itself tile
large scenes. Outputs keep the input's georeferencing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator, Optional

import numpy as np

from ..dependencies import require
from ..errors import InputRasterError, OperationCancelled, ParameterError
from ..progress import CancelCheck, RunHooks
from ..raster.io import BandInfo, create_geotiff, open_raster, raster_grid
from ..raster.staged import staged_outputs
from ..raster.units import UNIT_RADIANS

LOGGER = logging.getLogger(__name__)


class CostMode(str, Enum):
    """SNAPHU's statistical cost mode (deformation, topography, smooth)."""

    DEFORMATION = "defo"
    SMOOTH = "smooth"


class InitMethod(str, Enum):
    """SNAPHU's initialisation (minimum spanning tree or minimum cost flow)."""

    MST = "mst"
    MCF = "mcf"


@dataclass(frozen=True)
class UnwrapSettings:
    """How SNAPHU is run: cost mode, initialisation, looks, tiles and the connected components' size."""

    looks: float = 10.0
    cost: CostMode = CostMode.DEFORMATION
    init: InitMethod = InitMethod.MST
    tiles: tuple[int, int] = (1, 1)
    tile_overlap_px: int = 0
    min_coherence: float = 0.0  # pixels below are masked for SNAPHU


def _choice(enum: type[Enum], value: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError as exc:
        valid = ", ".join(item.value for item in enum)
        raise ParameterError(f"{name}={value!r} is not valid; choose one of: {valid}.") from exc


def _read_inputs(
    interferogram_path: str, coherence_path: str, interferogram_band: int, coherence_band: int, min_coherence: float
) -> tuple[Any, Any, np.ndarray, np.ndarray, np.ndarray]:
    """The dataset, grid, complex interferogram, coherence in [0, 1] and the mask SNAPHU gets."""
    from osgeo import gdal

    igram_ds = open_raster(interferogram_path, "wrapped interferogram")
    grid = raster_grid(igram_ds, interferogram_band, "wrapped interferogram")
    band = igram_ds.GetRasterBand(interferogram_band)
    if gdal.GetDataTypeName(band.DataType) not in ("CFloat32", "CFloat64", "CInt16", "CInt32"):
        raise InputRasterError(
            f"Band {interferogram_band} of '{interferogram_path}' is {gdal.GetDataTypeName(band.DataType)}, "
            "not complex: SNAPHU needs the wrapped complex interferogram (ISCE2 filt_topophase.flat)."
        )
    igram = band.ReadAsArray().astype(np.complex64)
    coherence_ds = open_raster(coherence_path, "coherence")
    coherence_grid = raster_grid(coherence_ds, coherence_band, "coherence")
    if (coherence_grid.width_px, coherence_grid.height_px) != (grid.width_px, grid.height_px):
        raise InputRasterError(
            f"The coherence raster is {coherence_grid.width_px} x {coherence_grid.height_px} px but the "
            f"interferogram is {grid.width_px} x {grid.height_px} px; SNAPHU needs both on one grid "
            "(resample with gdalwarp -te ... -ts ...)."
        )
    coherence = np.nan_to_num(coherence_ds.GetRasterBand(coherence_band).ReadAsArray().astype(np.float32))
    coherence = np.clip(coherence, 0.0, 1.0)
    valid = np.isfinite(igram) & (np.abs(igram) > 0) & (coherence > min_coherence)
    if not valid.any():
        raise InputRasterError("No pixel of the interferogram has data and coherence above the mask; nothing to unwrap.")
    return igram_ds, grid, igram, coherence, valid


def _write_outputs(
    unwrapped_out: str, components_out: str, unwrapped: np.ndarray, components: np.ndarray, grid: Any, metadata: dict
) -> None:
    """Both GeoTIFFs, staged: they appear under their names only when both are complete."""
    from osgeo import gdal

    with staged_outputs([unwrapped_out, components_out]) as (partial_unwrapped, partial_components):
        for path, array, data_type, nodata, description, unit in (
            (partial_unwrapped, unwrapped, gdal.GDT_Float32, float("nan"), "unwrapped phase, radians", UNIT_RADIANS),
            (
                partial_components,
                components.astype(np.uint32),
                gdal.GDT_UInt32,
                0,
                "SNAPHU connected component (0 = not unwrapped)",
                None,
            ),
        ):
            out = create_geotiff(
                path,
                (grid.width_px, grid.height_px),
                grid.geotransform,
                grid.crs_wkt,
                data_type,
                ["COMPRESS=DEFLATE", "TILED=YES"],
                band_info=BandInfo(nodata=nodata, description=description, unit=unit),
            )
            out.GetRasterBand(1).WriteArray(array)
            out.SetMetadata(metadata)
            out = None


@contextlib.contextmanager
def _cancellable_snaphu(is_cancelled: Optional[CancelCheck]) -> Iterator[None]:
    """Run the SNAPHU binary so that a cancel stops it: the ``snaphu`` package runs it with a blocking
    ``subprocess.run``; for the call this runs it with ``Popen`` and polls ``is_cancelled``."""
    try:
        import snaphu._unwrap as unwrap_module
        from snaphu._snaphu import get_snaphu_executable
    except ImportError:  # another layout of the package: it still runs, only not cancellable midway
        yield
        return
    original = getattr(unwrap_module, "run_snaphu", None)
    if original is None or is_cancelled is None:
        yield
        return

    def run_snaphu(config_file: Any) -> None:
        with get_snaphu_executable() as executable:
            process = subprocess.Popen(
                [os.fspath(executable), "-f", os.fspath(config_file)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            while True:
                try:
                    _, stderr = process.communicate(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if is_cancelled():
                        process.kill()
                        process.communicate()
                        raise OperationCancelled("Cancelled by the user: SNAPHU was stopped; no output was written.")
            if process.returncode != 0:
                raise RuntimeError((stderr or "").strip() or f"SNAPHU exited with status {process.returncode}")

    unwrap_module.run_snaphu = run_snaphu
    try:
        yield
    finally:
        unwrap_module.run_snaphu = original


def unwrap_files(
    interferogram_path: str,
    coherence_path: str,
    unwrapped_out: str,
    components_out: str,
    settings: UnwrapSettings = UnwrapSettings(),
    interferogram_band: int = 1,
    coherence_band: int = 1,
    hooks: RunHooks = RunHooks(),
) -> dict[str, Any]:
    """Unwrap a complex interferogram file; write phase (float32, rad) and components (uint32).

    Returns a summary: number of connected components and the share of unwrapped pixels.
    """
    snaphu = require("snaphu", "snaphu", "rockglacier:unwrap (SNAPHU phase unwrapping)")
    cost = _choice(CostMode, settings.cost, "COST")
    init = _choice(InitMethod, settings.init, "INIT")
    progress = hooks.progress(3)
    igram_ds, grid, igram, coherence, valid = _read_inputs(
        interferogram_path, coherence_path, interferogram_band, coherence_band, settings.min_coherence
    )
    progress.advance()
    LOGGER.info("SNAPHU: %s cost, %s initialisation, %s looks", cost.value, init.value, settings.looks)
    with _cancellable_snaphu(hooks.is_cancelled):
        unwrapped, components = snaphu.unwrap(
            np.where(valid, igram, 0).astype(np.complex64),
            coherence,
            nlooks=float(settings.looks),
            cost=cost.value,
            init=init.value,
            mask=valid.astype(np.uint8),
            ntiles=tuple(settings.tiles),
            tile_overlap=int(settings.tile_overlap_px),
        )
    progress.advance()
    unwrapped = np.where(valid, unwrapped, np.nan).astype(np.float32)
    _write_outputs(unwrapped_out, components_out, unwrapped, components, grid, igram_ds.GetMetadata() or {})
    progress.advance()
    labels = np.unique(components[components > 0])
    return {"components": int(labels.size), "unwrapped_fraction": float((components > 0).mean())}
