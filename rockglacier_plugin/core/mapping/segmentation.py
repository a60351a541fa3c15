"""Whole-scene segmentation with an ONNX model: tiles with context, smooth blending, bounded memory.

The raster is read tile by tile, each tile with the model's context around it; probabilities are
accumulated (weighted, see ``tiling``) in a buffer one tile-row high and written as soon as a row of pixels can receive no further tile, so
memory depends on the raster's width, not its size. Outputs are written under temporary names and
renamed when complete: a cancelled or failed run leaves nothing that looks finished.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ..errors import InputRasterError, ParameterError
from ..progress import Progress, RunHooks
from ..raster.io import BandInfo, create_geotiff, open_raster, raster_grid
from ..raster.staged import staged_outputs
from ..raster.units import UNIT_PROBABILITY
from ..raster.windows import Window, window_from_bounds
from . import adaptive_views
from .bands import band_names, band_order_warning, bands_for_model
from .input_scaling import model_input, valid_mask
from .model_metadata import ScalingKind
from .model_pixels import pixel_plan, probability_on_grid, resampled_input
from .onnx_model import Device, SegmentationModel, load_model
from .plausibility import check_offset
from .precision import Precision, PrecisionChoice, choose_precision
from .reflectance import Calibration, looks_like_8bit, raster_calibrations, stated_calibration
from .tiling import TileLayout, blend_weights, context_for, padded_size, tile_windows
from .true_colour import true_colour_calibrations

LOGGER = logging.getLogger(__name__)
PROBABILITY_NODATA = -1.0
MASK_NODATA = 255
PROBABILITY_DESCRIPTION = "rock-glacier probability (0-1; -1 no data)"
MASK_DESCRIPTION = "rock-glacier mask: 1 rock glacier, 0 background, 255 no data"
RAMP_PX = 16
#: ZSTD level 1 compresses several times faster than DEFLATE at a similar ratio (GDAL >= 2.3).
CREATION_OPTIONS = ["TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"]


@dataclass(frozen=True)
class SegmentSettings:
    bands: Optional[tuple[int, ...]] = (1, 2, 3)  # None: the model's bands matched by description (``bands``)
    tile_px: Optional[int] = None
    overlap_px: Optional[int] = None
    threshold: Optional[float] = None
    batch_size: Optional[int] = None  # tiles per model call; None: ``auto_batch_size``
    device: Device = Device.AUTO
    threads: int = 0
    views: Optional[int] = None  # views of each tile averaged: 1 as is, 4 mirrored, 8 mirrored and turned; None: the model's
    calibration: Optional[Calibration] = None  # the user's L2A_ADD_OFFSET for reflectance rasters (``reflectance``)
    precision: Precision = Precision.FLOAT32  # the model as given; ``auto``: its int8 copy where it agrees (``precision``)
    adaptive_views: bool = False  # further views only for tiles whose first view finds anything (``adaptive_views.LOW``)


@dataclass
class SegmentRun:
    """What happened: provider, tile counts, timings, the output region and threshold."""

    provider: str
    tiles_run: int
    tiles_skipped: int
    model_seconds: float
    total_seconds: float
    region: Window
    threshold: float
    layout: TileLayout
    precision_note: str = ""
    tiles_with_more_views: int = 0
    more_views_share: float = 0.0  # mean share of a tile's model input the further views ran on (adaptive views)
    adaptive: bool = False


def _check_input(dataset: Any, bands: Sequence[int], model: SegmentationModel, log: Callable[[str], None]) -> None:
    if len(bands) != model.spec.in_channels:
        raise ParameterError(
            f"BANDS lists {len(bands)} band(s) but the model takes {model.spec.in_channels} channels "
            f"({', '.join(model.spec.bands)}); give {model.spec.in_channels} band numbers, e.g. "
            f"{','.join(str(i + 1) for i in range(model.spec.in_channels))}."
        )
    for band in bands:
        if not 1 <= band <= dataset.RasterCount:
            raise InputRasterError(
                f"The raster has {dataset.RasterCount} band(s); BANDS asks for band {band}. For Sentinel-2 give the "
                "bands holding B4, B3, B2 (red, green, blue) in that order."
            )


Converter = Callable[[np.ndarray], np.ndarray]


def _is_8bit(dataset: Any, bands: Sequence[int]) -> bool:
    from osgeo import gdal

    return all(gdal.GetDataTypeName(dataset.GetRasterBand(b).DataType) == "Byte" for b in bands)


def input_converter(dataset: Any, path: str, bands: Sequence[int], spec: Any, given: Optional[Calibration],
                    log: Callable[[str], None]) -> Optional[Converter]:
    """How the raster's values become what the model takes: None for 8-bit imagery (as is) and models that
    scale raw values themselves; for L2A reflectance and a model that states its rendering, reflectance from
    the product's calibration (``reflectance``) rendered as the model's training imagery was (``rendering``)."""
    from osgeo import gdal

    kind = spec.input_scaling.kind
    if kind == ScalingKind.REFLECTANCE:
        if _is_8bit(dataset, bands):
            log("Warning: the model expects reflectance (e.g. Sentinel-2 L2A, 0-10000) but the raster is 8-bit; "
                "values are scaled as reflectance anyway.")
        return None
    true_colour = true_colour_calibrations(path, dataset, bands)  # a display image is never the model's rendering
    if true_colour is not None:
        if spec.rendering is None:
            raise InputRasterError(f"'{os.path.basename(path)}' is a true-colour display image, and the model does not say how its "
                                   "training imagery was made from reflectance (no rockglacier:rendering): give the imagery the "
                                   "model's author used, or use a model that states its rendering (the shipped model does).")
        calibrations, note = true_colour
        log(note)
        return _rendered(calibrations, spec.rendering)
    if _is_8bit(dataset, bands):
        return None
    names = [spec.rendering.bands[i] if spec.rendering and i < len(spec.rendering.bands) else "" for i in range(len(bands))]
    stated = given is not None or any(stated_calibration(dataset, path, b, n) for b, n in zip(bands, names))
    if not stated and looks_like_8bit(dataset, bands):
        return None  # 0-255 values in a wider type: 8-bit imagery as before
    data_type = gdal.GetDataTypeName(dataset.GetRasterBand(bands[0]).DataType)
    if spec.rendering is None:
        raise InputRasterError(
            f"The raster is {data_type} (Sentinel-2 L2A reflectance?), but the model takes 8-bit imagery and does not say how "
            "its training imagery was made from reflectance (its metadata has no rockglacier:rendering). Give 8-bit imagery "
            "rendered as the model's author did, or a model that states its rendering (the shipped model does).")
    calibrations = raster_calibrations(dataset, path, bands, names, given)
    rendering = spec.rendering
    log(f"{data_type} reflectance rendered to 8-bit as the model's training imagery was: rho = {calibrations[0].describe()}; "
        f"8-bit = {rendering.describe()} ({rendering.source}, the rendering in the model's metadata; its model card says where it "
        "comes from).")
    warning = check_offset(dataset, bands, calibrations, user_given=given is not None)  # stops on an offset taken twice
    if warning:
        log(warning)
    return _rendered(calibrations, rendering)


def _rendered(calibrations: Sequence[Calibration], rendering: Any) -> Converter:
    """Stored values -> reflectance (one calibration per band) -> the model's 8-bit rendering."""

    def convert(raw: np.ndarray) -> np.ndarray:
        reflectance = np.stack([c.reflectance(raw[i]) for i, c in enumerate(calibrations)])
        return rendering.to_8bit(reflectance)

    return convert


def _region(grid: Any, extent: Optional[tuple[float, float, float, float]]) -> Window:
    if extent is None:
        return grid.full_window
    xmin, ymin, xmax, ymax = extent
    if not (xmax > xmin and ymax > ymin):
        raise ParameterError("EXTENT is empty; draw or pick an extent that covers part of the raster.")
    region = window_from_bounds(xmin, ymin, xmax, ymax, grid.geotransform).intersection(grid.full_window)
    if region is None:
        raise ParameterError("EXTENT does not overlap the raster; pick an extent inside it (in the raster's CRS).")
    return region


def _create(path: str, region: Window, grid: Any, data_type: int, nodata: float, description: str, unit: Optional[str]) -> Any:
    return create_geotiff(path, (region.width_px, region.height_px), region.transform(grid.geotransform), grid.crs_wkt,
                          data_type, CREATION_OPTIONS, band_info=BandInfo(nodata=nodata, description=description, unit=unit))


def _tile_intersects(window: Window, grid: Any, mask_geometries: Optional[Sequence[Any]]) -> bool:
    if mask_geometries is None:
        return True
    from osgeo import ogr

    x0, dx, _, y0, _, dy = window.transform(grid.geotransform)
    x1, y1 = x0 + dx * window.width_px, y0 + dy * window.height_px
    rectangle = ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
    return any(g is not None and g.Intersects(rectangle) for g in mask_geometries)


class _BlendBuffer:
    """Weighted probability sums for a band of rows one tile high, flushed as rows complete."""

    def __init__(self, rows: int, width_px: int) -> None:
        self.numerator = np.zeros((rows, width_px), dtype=np.float32)
        self.denominator = np.zeros_like(self.numerator)
        self.valid = np.zeros((rows, width_px), dtype=bool)
        self.top = 0  # region row held in the buffer's first row

    def move_to(self, row_top: int) -> None:
        shift = row_top - self.top
        if shift:
            for array, empty in ((self.numerator, 0.0), (self.denominator, 0.0), (self.valid, False)):
                array[:-shift], array[-shift:] = array[shift:], empty
            self.top = row_top

    def add(self, tile: Window, probability: np.ndarray, tile_valid: np.ndarray, weights: np.ndarray) -> None:
        rows = slice(tile.row_off - self.top, tile.row_off - self.top + tile.height_px)
        cols = slice(tile.col_off, tile.col_off + tile.width_px)
        self.numerator[rows, cols] += weights * probability[: tile.height_px, : tile.width_px]
        self.denominator[rows, cols] += weights
        self.valid[rows, cols] |= tile_valid

    def finished(self, rows: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """(probability, mask) of the first ``rows`` rows, which no further tile reaches (new arrays)."""
        return _finished(self.numerator[:rows], self.denominator[:rows], self.valid[:rows], threshold)


class _RowWriter:
    """Writes finished rows in a thread of its own (GDAL compresses while the model runs the next row); one row
    waits at most, so memory stays bounded. Errors surface at the next write or at ``close``."""

    def __init__(self, probability_ds: Any, mask_ds: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.datasets = (probability_ds, mask_ds)
        self.executor: Optional[ThreadPoolExecutor] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rockglacier-row-writer")
        self.pending: Any = None

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def write(self, row: int, probability: np.ndarray, mask: np.ndarray) -> None:
        self._wait()
        if self.executor is None:
            raise RuntimeError("_RowWriter.write after close")
        self.pending = self.executor.submit(self._write, row, probability, mask)

    def _write(self, row: int, probability: np.ndarray, mask: np.ndarray) -> None:
        self.datasets[0].GetRasterBand(1).WriteArray(probability, 0, row)
        self.datasets[1].GetRasterBand(1).WriteArray(mask, 0, row)

    def close(self, flush: bool = True) -> None:
        """Wait for the last row and flush both files (``flush`` False: after an error, only stop the thread)."""
        if self.executor is None:
            return
        try:
            if flush:
                self._wait()
                for dataset in self.datasets:
                    dataset.FlushCache()
        finally:
            if self.pending is not None:
                self.pending.exception()  # let a last write end before the files close
            self.executor.shutdown(wait=True)
            self.executor = None


#: Model input pixels per call when the batch is automatic: on 2 CPU cores one 1408 px input a call
#: ran the 4096 px bench in 24 s and 1.4 GB, four a call in 28 s and 4.4 GB (memory bandwidth, not
#: arithmetic, limits a CPU); small tiles still go several to a call.
AUTO_BATCH_INPUT_PX = 2_000_000


def auto_batch_size(layout: TileLayout) -> int:
    """Tiles per model call: as many as fit ``AUTO_BATCH_INPUT_PX`` input pixels, 1 to 8.

    >>> from .tiling import TileLayout
    >>> auto_batch_size(TileLayout(1024, 16, 16, 192)), auto_batch_size(TileLayout(512, 16, 16, 32))
    (1, 6)
    """
    return max(1, min(8, AUTO_BATCH_INPUT_PX // layout.input_px ** 2))


def tile_layout_for(settings: SegmentSettings, model: SegmentationModel) -> TileLayout:
    """The tiles to use: the settings' size, else the model's; a fixed-size model imposes its own
    (its input less the context on both sides)."""
    spec = model.spec
    context = context_for(spec.margin_px, spec.size_multiple_px)
    tile_px = settings.tile_px or spec.tile_size_px
    if model.fixed_size_px is not None:
        fixed = model.fixed_size_px[0] - 2 * context
        if fixed < spec.size_multiple_px:
            raise ParameterError(
                f"The model only accepts {model.fixed_size_px[0]} x {model.fixed_size_px[1]} px input, too small for the "
                f"{context} px of context it asks for on each side; re-export it with a smaller margin_px or dynamic input size."
            )
        if settings.tile_px and settings.tile_px != fixed:
            raise ParameterError(
                f"TILE_SIZE_PX={settings.tile_px} but the model only accepts {model.fixed_size_px[0]} x "
                f"{model.fixed_size_px[1]} px input, which holds a {fixed} px tile and {context} px of context on each "
                f"side; set TILE_SIZE_PX={fixed} (or 0 for the model's own)."
            )
        tile_px = fixed
    if tile_px % spec.size_multiple_px:
        raise ParameterError(
            f"TILE_SIZE_PX={tile_px} is not divisible by the model's size multiple {spec.size_multiple_px}; use "
            f"{tile_px // spec.size_multiple_px * spec.size_multiple_px} or {padded_size(tile_px, spec.size_multiple_px)}."
        )
    overlap = settings.overlap_px if settings.overlap_px is not None else min(RAMP_PX, tile_px - spec.size_multiple_px)
    return TileLayout(tile_px, overlap, spec.size_multiple_px, context)


def _read_tile(dataset: Any, region: Window, tile: Window, bands: Sequence[int], spec: Any,
               layout: TileLayout, converter: Optional[Converter] = None) -> tuple[np.ndarray, np.ndarray]:
    """The model's input for one tile: the tile and ``layout.context_px`` around it, read from the
    raster where it has pixels, and beyond its edges the standardised zero (the neutral input: the
    model's own zero padding showed it at every training crop's edge, and the default model trained
    on crops cut by raster edges filled with it, ``training.data.compose.raster_window``; mirroring the
    raster instead cost a 128 px chip 0.08 IoU); padded to a full (aligned) input. Also the tile's
    own valid mask."""
    context = layout.context_px
    width_in = padded_size(tile.width_px, spec.size_multiple_px) + 2 * context
    height_in = padded_size(tile.height_px, spec.size_multiple_px) + 2 * context
    col0, row0 = region.col_off + tile.col_off - context, region.row_off + tile.row_off - context
    read_col0, read_row0 = max(col0, 0), max(row0, 0)
    read_col1 = min(col0 + width_in, dataset.RasterXSize)
    read_row1 = min(row0 + height_in, dataset.RasterYSize)
    raw = dataset.ReadAsArray(
        read_col0, read_row0, read_col1 - read_col0, read_row1 - read_row0, band_list=list(bands),
    ).astype(np.float32).reshape(len(bands), read_row1 - read_row0, read_col1 - read_col0)
    if converter is None:
        tensor, valid = model_input(raw, spec)
    else:  # no-data found on the stored values, before the rendering
        valid = valid_mask(raw, spec.nodata)
        tensor, _ = model_input(converter(raw), spec, valid)
    pads = ((read_row0 - row0, row0 + height_in - read_row1), (read_col0 - col0, col0 + width_in - read_col1))
    if any(any(p) for p in pads):
        tensor = np.pad(tensor, ((0, 0),) + pads, mode="constant", constant_values=0.0)
    top, left = row0 + context - read_row0, col0 + context - read_col0
    return tensor, valid[top:top + tile.height_px, left:left + tile.width_px]


@dataclass
class _Counters:
    tiles_run: int = 0
    tiles_skipped: int = 0
    model_seconds: float = 0.0
    tiles_more_views: int = 0
    more_views_share: float = 0.0  # sum over tiles of the share of the model input the further views ran on


def _resolved(settings: SegmentSettings, dataset: Any, model: SegmentationModel,
              log: Callable[[str], None]) -> tuple[SegmentSettings, tuple[int, ...], int]:
    """The settings with the model's defaults filled in where the user left them empty, and the bands and
    views they give: bands matched by the raster's band descriptions, the model's own number of views."""
    if settings.bands is None:
        bands = tuple(bands_for_model(band_names(dataset), model.spec.bands))
    else:
        bands = tuple(settings.bands)
        swapped = band_order_warning(bands, band_names(dataset), model.spec.bands)
        if swapped:
            log(f"Warning: {swapped}")
    views = settings.views
    if views is None:
        views = int(model.spec.views)
        log(f"{views} view(s) of each tile averaged: the model's default (VIEWS sets it; the model time grows with it)"
            + (f"; the further views only around what the first view finds (probability >= {adaptive_views.LOW:g})."
               if settings.adaptive_views and views > 1 else "."))
    return replace(settings, bands=bands, views=views), bands, views


@dataclass(frozen=True)
class MapArea:
    """Where to map: ``extent`` (xmin, ymin, xmax, ymax in the raster's CRS; None = the whole raster) and
    ``geometries`` (OGR geometries in the raster's CRS: tiles touching none are skipped; None = every tile)."""

    extent: Optional[tuple[float, float, float, float]] = None
    geometries: Optional[Sequence[Any]] = None


def segment_raster(
    raster_path: str, model_path: str, probability_path: str, mask_path: str,
    settings: SegmentSettings = SegmentSettings(), area: MapArea = MapArea(),
    hooks: RunHooks = RunHooks(log=LOGGER.info), model: Optional[SegmentationModel] = None,
) -> SegmentRun:
    """Probability (float32, -1 = no data) and mask (uint8: 1 rock glacier, 0 background, 255 no
    data) GeoTIFFs over the raster (or its ``area``), on the raster's grid. ``model``: an already
    loaded model of ``model_path`` (a worker that maps many scenes keeps its session). An input at
    another pixel size than the model's is resampled for the model and its results brought back
    (``model_pixels``)."""
    import tempfile

    grid = raster_grid(open_raster(raster_path, "input raster"), 1, "input raster")
    model = model or load_model(model_path, settings.device, settings.threads)
    plan = pixel_plan(grid, model.spec)
    hooks.log(plan.note)
    if plan.as_is:
        return _segment_on_grid(raster_path, model_path, probability_path, mask_path, settings, area, hooks, model)
    with tempfile.TemporaryDirectory(prefix="rockglacier_resampled_") as folder:
        run = _segment_on_grid(resampled_input(raster_path, plan, folder), model_path, os.path.join(folder, "probability.tif"),
                               os.path.join(folder, "mask.tif"), settings, area, hooks, model)
        region = _region(grid, area.extent)
        _write_on_grid(probability_on_grid(os.path.join(folder, "probability.tif"), grid, region), run.threshold,
                       (probability_path, mask_path), grid, region)
    return replace(run, region=region)


def _write_on_grid(probability: np.ndarray, threshold: float, paths: tuple[str, str], grid: Any, region: Window) -> None:
    """Probability and its mask (thresholded on this grid) written as ``segment_raster`` writes them."""
    from osgeo import gdal

    valid = probability >= 0.0
    mask = np.where(valid, (probability >= threshold).astype(np.uint8), MASK_NODATA).astype(np.uint8)
    with staged_outputs(list(paths)) as (partial_probability, partial_mask):
        for path, data_type, nodata, description, unit, values in (
                (partial_probability, gdal.GDT_Float32, PROBABILITY_NODATA, PROBABILITY_DESCRIPTION, UNIT_PROBABILITY,
                 np.where(valid, probability, PROBABILITY_NODATA)),
                (partial_mask, gdal.GDT_Byte, MASK_NODATA, MASK_DESCRIPTION, None, mask)):
            dataset = _create(path, region, grid, data_type, nodata, description, unit)
            dataset.GetRasterBand(1).WriteArray(values)
            dataset = None


def _segment_on_grid(raster_path: str, model_path: str, probability_path: str, mask_path: str, settings: SegmentSettings,
                     area: MapArea, hooks: RunHooks, model: SegmentationModel) -> SegmentRun:
    """``segment_raster`` on the raster's own grid."""
    from osgeo import gdal

    log, extent, mask_geometries = hooks.log, area.extent, area.geometries
    started = time.perf_counter()
    dataset = open_raster(raster_path, "input raster")
    grid = raster_grid(dataset, 1, "input raster")
    log(f"onnxruntime execution provider: {model.provider}")
    settings, bands, views = _resolved(settings, dataset, model, log)
    _check_input(dataset, bands, model, log)
    converter = input_converter(dataset, raster_path, bands, model.spec, settings.calibration, log)
    check_views(views)  # before any output is written
    layout = tile_layout_for(settings, model)
    threshold = settings.threshold if settings.threshold is not None else model.spec.seg_thresh
    region = _region(grid, extent)
    rows_of_tiles = tile_windows(region.width_px, region.height_px, layout)
    reader = _TileReader(raster_path, region, settings, model.spec, layout, converter)
    choice = _precision(model, model_path, settings, reader.sampler(rows_of_tiles), threshold, log,
                        _scene_key(raster_path, settings, region))
    model = choice.model
    if choice.model.spec.seg_thresh != threshold and settings.threshold is None:
        threshold = choice.model.spec.seg_thresh  # an int8 copy may carry its own threshold (the shipped one does)
    progress = hooks.progress(sum(len(r) for r in rows_of_tiles))
    counters = _Counters()
    with staged_outputs([probability_path, mask_path]) as (partial_probability, partial_mask):
        probability_ds = _create(partial_probability, region, grid, gdal.GDT_Float32, PROBABILITY_NODATA, PROBABILITY_DESCRIPTION,
                                 UNIT_PROBABILITY)
        mask_ds = _create(partial_mask, region, grid, gdal.GDT_Byte, MASK_NODATA, MASK_DESCRIPTION, None)
        writer = _RowWriter(probability_ds, mask_ds)
        try:
            run = _TileRun(model, settings, layout, region, _BlendBuffer(min(layout.tile_px, region.height_px), region.width_px),
                           counters, progress, threshold)
            tiles = reader.stream(rows_of_tiles, lambda window: _tile_intersects(window, grid, mask_geometries), progress)
            for index, row_items in _rows(tiles):
                run.buffer.move_to(rows_of_tiles[index][0].row_off)
                run.row(row_items)
                last = index == len(rows_of_tiles) - 1
                next_top = region.height_px if last else rows_of_tiles[index + 1][0].row_off
                writer.write(run.buffer.top, *run.buffer.finished(next_top - run.buffer.top, threshold))
            writer.close()
        finally:
            writer.close(flush=False)
            probability_ds = mask_ds = None  # closes both before the rename or the removal
            del writer
    return SegmentRun(model.provider, counters.tiles_run, counters.tiles_skipped, counters.model_seconds,
                      time.perf_counter() - started, region, threshold, layout, choice.note, counters.tiles_more_views,
                      counters.more_views_share / max(counters.tiles_run, 1), bool(settings.adaptive_views and views > 1))


def _scene_key(raster_path: str, settings: SegmentSettings, region: Window) -> Optional[str]:
    """What identifies a scene for a cached int8 agreement check: the file, its size and time, the bands, the region."""
    try:
        status = os.stat(raster_path)
    except OSError:
        return None
    return (f"{os.path.abspath(raster_path)}|{status.st_size}|{status.st_mtime_ns}|{settings.bands}|{settings.calibration}|"
            f"{region.col_off},{region.row_off},{region.width_px},{region.height_px}")


def _precision(model: SegmentationModel, model_path: str, settings: SegmentSettings, sampler: Callable[[int, int], list],
               threshold: float, log: Callable[[str], None], scene_key: Optional[str]) -> PrecisionChoice:
    choice = choose_precision(model, model_path, settings.precision, sampler, threshold,
                              lambda path: load_model(path, settings.device, settings.threads), log, scene_key)
    if settings.precision != Precision.FLOAT32:
        log(f"Precision: {choice.note}")
    return choice


def _rows(items: Iterator[tuple]) -> Iterator[tuple[int, list]]:
    """The reader's items grouped by tile row: (row index, [(tile, tensor, valid) or None for a skipped tile])."""
    current, row = None, []
    for index, item in items:
        if current is not None and index != current:
            yield current, row
            row = []
        current = index
        row.append(item)
    if current is not None:
        yield current, row


class _TileReader:
    """Reads and scales the model's input for each tile in a thread of its own (its own GDAL dataset), a
    bounded queue ahead of the model: reading overlaps inference (onnxruntime releases the GIL while it runs)
    and memory stays bounded (``QUEUE_TILES`` inputs waiting)."""

    def __init__(self, raster_path: str, region: Window, settings: SegmentSettings, spec: Any, layout: TileLayout,
                 converter: Optional[Converter]) -> None:
        self.raster_path, self.region, self.settings, self.spec, self.layout, self.converter = (
            raster_path, region, settings, spec, layout, converter)

    def read(self, dataset: Any, tile: Window) -> tuple[np.ndarray, np.ndarray]:
        return _read_tile(dataset, self.region, tile, tuple(self.settings.bands or ()), self.spec, self.layout, self.converter)

    def sampler(self, rows_of_tiles: Sequence[Sequence[Window]]) -> Callable[[int, int], list]:
        """``sample(count, seed)``: model inputs of ``count`` full tiles spread over the scene (seed 1: between seed 0's)."""
        tiles = [t for row in rows_of_tiles for t in row]
        full = [t for t in tiles if t.width_px == self.layout.tile_px and t.height_px == self.layout.tile_px] or tiles

        def sample(count: int, seed: int) -> list:
            dataset = open_raster(self.raster_path, "input raster")
            step = len(full) / max(count, 1)
            picks = sorted({min(len(full) - 1, int((i + 0.5 * seed) * step)) for i in range(count)})
            return [self.read(dataset, full[i])[0] for i in picks]

        return sample

    def stream(self, rows_of_tiles: Sequence[Sequence[Window]], wanted: Callable[[Window], bool],
               progress: Progress) -> Iterator[tuple[int, Optional[tuple]]]:
        """(row index, (tile, tensor, valid)) for every tile in order, None for a tile outside MASK_LAYER."""
        results: queue.Queue = queue.Queue(maxsize=QUEUE_TILES)
        stop = threading.Event()

        def produce() -> None:
            try:
                dataset = open_raster(self.raster_path, "input raster")
                for index, row in enumerate(rows_of_tiles):
                    for tile in row:
                        if stop.is_set():
                            return
                        on_raster = Window(self.region.col_off + tile.col_off, self.region.row_off + tile.row_off,
                                           tile.width_px, tile.height_px)
                        item = (tile,) + self.read(dataset, tile) if wanted(on_raster) else None
                        results.put((index, item))
                results.put(_DONE)
            except BaseException as exc:  # handed to the consumer, which raises it
                results.put(exc)

        worker = threading.Thread(target=produce, name="rockglacier-tile-reader", daemon=True)
        worker.start()
        try:
            while True:
                item = results.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue, then let it end
                try:
                    results.get_nowait()
                except queue.Empty:
                    worker.join(0.05)


_DONE = object()
#: Model inputs read ahead of the model: two batches of the shipped model's (1408 px, 3 x 7.6 MB each).
QUEUE_TILES = 4


@dataclass
class _TileRun:
    """The model's side of a run: batches of tiles through the model, their probabilities into the blend buffer."""

    model: SegmentationModel
    settings: SegmentSettings
    layout: TileLayout
    region: Window
    buffer: "_BlendBuffer"
    counters: "_Counters"
    progress: Progress
    threshold: float

    def row(self, items: Sequence[Optional[tuple]]) -> None:
        batch: list = []
        for item in items:
            if item is None:
                self.counters.tiles_skipped += 1
                self.progress.advance()
                continue
            batch.append(item)
            if len(batch) == (self.settings.batch_size or auto_batch_size(self.layout)):
                self.run_batch(batch)
                batch = []
        if batch:
            self.run_batch(batch)

    def run_batch(self, batch: list) -> None:
        start = time.perf_counter()
        stacked = np.stack([tensor for _, tensor, _ in batch])
        probabilities = self.probabilities(stacked)
        self.counters.model_seconds += time.perf_counter() - start
        self.counters.tiles_run += len(batch)
        context = self.layout.context_px
        for (tile, _, tile_valid), probability in zip(batch, probabilities):
            self.buffer.add(tile, probability[context:, context:], tile_valid,
                            blend_weights(tile, self.region.width_px, self.region.height_px, self.layout))
            self.progress.advance()

    def probabilities(self, stacked: np.ndarray) -> np.ndarray:
        views = self.settings.views or 1
        if views == 1:
            return self.model.rock_glacier_probability(stacked)
        if not self.settings.adaptive_views:
            return averaged_probability(self.model, stacked, views)
        first = self.model.rock_glacier_probability(stacked)
        context, multiple = self.layout.context_px, self.model.spec.size_multiple_px
        if self.model.fixed_size_px is not None:  # no crops: the whole input of each tile where anything is found
            busy = [i for i, p in enumerate(first) if float(p[context:, context:].max(initial=0.0)) >= adaptive_views.LOW]
            if busy:
                first[busy] = averaged_probability(self.model, stacked[busy], views, first=first[busy])
            self.counters.more_views_share += len(busy)
            self.counters.tiles_more_views += len(busy)
            return first
        for index in range(len(first)):
            first[index], share = adaptive_views.refine(first[index], stacked[index], context, multiple,
                                                        lambda x, f: averaged_probability(self.model, x, views, first=f))
            self.counters.more_views_share += share
            self.counters.tiles_more_views += share > 0
        return first


#: Views of test-time averaging, as (quarter turns, mirror left-right): 4 = the mirror images, 8 = every
#: symmetry of the square (a rock glacier is one whichever way the image is turned; the model's small
#: biases are not, so they average out).
VIEWS = {1: ((0, False),), 4: ((0, False), (0, True), (2, True), (2, False)),
         8: tuple((turns, mirror) for turns in range(4) for mirror in (False, True))}


def check_views(views: int) -> None:
    if views not in VIEWS:
        raise ParameterError(f"VIEWS={views}: choose 1 (as is), 4 (mirrored) or 8 (mirrored and turned).")


def averaged_probability(model: SegmentationModel, batch: np.ndarray, views: int, first: Optional[np.ndarray] = None) -> np.ndarray:
    """The mean of the model's probabilities over ``views`` symmetric views of the batch, each turned back
    (``first``: the first view's probabilities, the image as is, when the caller has them already).

    Views 4 are: as is, mirrored left-right, turned twice and mirrored (= mirrored up-down), turned twice.
    """
    check_views(views)
    total = np.zeros((batch.shape[0],) + batch.shape[2:], dtype=np.float64)
    chosen = VIEWS[views]
    if first is not None:
        total += first
        chosen = chosen[1:]
    for turns, mirror in chosen:
        image = np.rot90(batch, turns, axes=(-2, -1))
        image = np.ascontiguousarray(image[..., ::-1] if mirror else image)
        probability = model.rock_glacier_probability(image)
        probability = probability[..., ::-1] if mirror else probability
        total += np.rot90(probability, -turns, axes=(-2, -1))
    return (total / len(VIEWS[views])).astype(np.float32)


def _finished(numerator: np.ndarray, denominator: np.ndarray, valid: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    has = valid & (denominator > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        probability = np.where(has, numerator / np.where(has, denominator, 1.0), PROBABILITY_NODATA).astype(np.float32)
    mask = np.where(has, (probability >= threshold).astype(np.uint8), MASK_NODATA).astype(np.uint8)
    return probability, mask
