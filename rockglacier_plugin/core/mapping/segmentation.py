"""Whole-scene segmentation with an ONNX model: tiles with context, smooth blending, bounded memory.

The raster is read tile by tile, each tile with the model's context around it; probabilities are
accumulated (weighted, see ``tiling``) in a buffer one tile-row high and written as soon as a row of pixels can receive no
further tile, so
memory depends on the raster's width, not its size. Outputs are written under temporary names and
renamed when complete: a cancelled or failed run leaves nothing that looks finished.

This module orchestrates; each job is a module of its own: ``input_rendering`` (the raster's values -> the
model's input: 8-bit as is, reflectance rendered as the model was trained), ``tile_io`` (tiles read ahead and
rows written behind, each in a thread), ``blending`` (the weighted sums and the finished rows), ``adaptive_views``
(the views of test-time averaging and where the further ones run), ``tiling`` (the tile layout and weights).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import ParameterError
from ..progress import Progress, RunHooks
from ..raster.io import open_raster, raster_grid
from ..raster.staged import staged_outputs
from ..raster.units import UNIT_PROBABILITY
from ..raster.windows import Window, window_from_bounds
from . import adaptive_views
from .adaptive_views import averaged_probability, check_views
from .bands import band_names, band_order_warning, bands_for_model
from .blending import MASK_NODATA, PROBABILITY_NODATA, BlendBuffer
from .input_rendering import check_input, input_converter
from .model_pixels import pixel_plan, probability_on_grid, resampled_input
from .onnx_model import Device, SegmentationModel, load_model
from .precision import Precision, PrecisionChoice, RunScene, choose_precision
from .reflectance import Calibration
from .tile_io import RowWriter, TileReader, create_output, tile_rows
from .tiling import TileLayout, blend_weights, context_for, padded_size, tile_windows

LOGGER = logging.getLogger(__name__)
PROBABILITY_DESCRIPTION = "rock-glacier probability (0-1; -1 no data)"
MASK_DESCRIPTION = "rock-glacier mask: 1 rock glacier, 0 background, 255 no data"
RAMP_PX = 16


@dataclass(frozen=True)
class SegmentSettings:
    """The options of ``segment_raster``: bands, threshold, device, precision, views, tiles, batch and calibration.

    Its defaults run the model as given (float32, bands 1-3, no adaptive views): what training's evaluation and the
    model card measure. What a user gets by default is ``workflows.mapping.MappingOptions`` (the one set of user
    defaults, shared by ``rockglacier:segment`` and the region command), turned into these by its ``segment_settings``.
    """

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


def _tile_intersects(window: Window, grid: Any, mask_geometries: Optional[Sequence[Any]]) -> bool:
    if mask_geometries is None:
        return True
    from osgeo import ogr

    x0, dx, _, y0, _, dy = window.transform(grid.geotransform)
    x1, y1 = x0 + dx * window.width_px, y0 + dy * window.height_px
    rectangle = ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
    return any(g is not None and g.Intersects(rectangle) for g in mask_geometries)


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
    return max(1, min(8, AUTO_BATCH_INPUT_PX // layout.input_px**2))


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


@dataclass
class _Counters:
    tiles_run: int = 0
    tiles_skipped: int = 0
    model_seconds: float = 0.0
    tiles_more_views: int = 0
    more_views_share: float = 0.0  # sum over tiles of the share of the model input the further views ran on


def _resolved(
    settings: SegmentSettings, dataset: Any, model: SegmentationModel, log: Callable[[str], None]
) -> tuple[SegmentSettings, tuple[int, ...], int]:
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
        log(
            f"{views} view(s) of each tile averaged: the model's default (VIEWS sets it; the model time grows with it)"
            + (
                f"; the further views only around what the first view finds (probability >= {adaptive_views.LOW:g})."
                if settings.adaptive_views and views > 1
                else "."
            )
        )
    return replace(settings, bands=bands, views=views), bands, views


@dataclass(frozen=True)
class MapArea:
    """Where to map: ``extent`` (xmin, ymin, xmax, ymax in the raster's CRS; None = the whole raster) and
    ``geometries`` (OGR geometries in the raster's CRS: tiles touching none are skipped; None = every tile)."""

    extent: Optional[tuple[float, float, float, float]] = None
    geometries: Optional[Sequence[Any]] = None


def segment_raster(
    raster_path: str,
    model_path: str,
    probability_path: str,
    mask_path: str,
    settings: SegmentSettings = SegmentSettings(),
    area: MapArea = MapArea(),
    hooks: RunHooks = RunHooks(log=LOGGER.info),
    model: Optional[SegmentationModel] = None,
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
        run = _segment_on_grid(
            resampled_input(raster_path, plan, folder),
            model_path,
            os.path.join(folder, "probability.tif"),
            os.path.join(folder, "mask.tif"),
            settings,
            area,
            hooks,
            model,
        )
        region = _region(grid, area.extent)
        _write_on_grid(
            probability_on_grid(os.path.join(folder, "probability.tif"), grid, region),
            run.threshold,
            (probability_path, mask_path),
            grid,
            region,
        )
    return replace(run, region=region)


def _write_on_grid(probability: np.ndarray, threshold: float, paths: tuple[str, str], grid: Any, region: Window) -> None:
    """Probability and its mask (thresholded on this grid) written as ``segment_raster`` writes them."""
    from osgeo import gdal

    valid = probability >= 0.0
    mask = np.where(valid, (probability >= threshold).astype(np.uint8), MASK_NODATA).astype(np.uint8)
    with staged_outputs(list(paths)) as (partial_probability, partial_mask):
        for path, data_type, nodata, description, unit, values in (
            (
                partial_probability,
                gdal.GDT_Float32,
                PROBABILITY_NODATA,
                PROBABILITY_DESCRIPTION,
                UNIT_PROBABILITY,
                np.where(valid, probability, PROBABILITY_NODATA),
            ),
            (partial_mask, gdal.GDT_Byte, MASK_NODATA, MASK_DESCRIPTION, None, mask),
        ):
            dataset = create_output(path, region, grid, data_type, nodata, description, unit)
            dataset.GetRasterBand(1).WriteArray(values)
            dataset = None


def _segment_on_grid(
    raster_path: str,
    model_path: str,
    probability_path: str,
    mask_path: str,
    settings: SegmentSettings,
    area: MapArea,
    hooks: RunHooks,
    model: SegmentationModel,
) -> SegmentRun:
    """``segment_raster`` on the raster's own grid."""
    from osgeo import gdal

    log, extent, mask_geometries = hooks.log, area.extent, area.geometries
    started = time.perf_counter()
    dataset = open_raster(raster_path, "input raster")
    grid = raster_grid(dataset, 1, "input raster")
    log(f"onnxruntime execution provider: {model.provider}")
    settings, bands, views = _resolved(settings, dataset, model, log)
    check_input(dataset, bands, model, log)
    converter = input_converter(dataset, raster_path, bands, model.spec, settings.calibration, log)
    check_views(views)  # before any output is written
    layout = tile_layout_for(settings, model)
    threshold = settings.threshold if settings.threshold is not None else model.spec.seg_thresh
    region = _region(grid, extent)
    rows_of_tiles = tile_windows(region.width_px, region.height_px, layout)
    reader = TileReader(raster_path, region, tuple(settings.bands or ()), model.spec, layout, converter)
    scene = RunScene(_scene_key(raster_path, settings, region), sum(len(row) for row in rows_of_tiles))
    choice = _precision(model, model_path, settings, reader.sampler(rows_of_tiles), threshold, log, scene)
    model = choice.model
    if choice.model.spec.seg_thresh != threshold and settings.threshold is None:
        threshold = choice.model.spec.seg_thresh  # an int8 copy may carry its own threshold (the shipped one does)
    progress = hooks.progress(sum(len(r) for r in rows_of_tiles))
    counters = _Counters()
    with staged_outputs([probability_path, mask_path]) as (partial_probability, partial_mask):
        probability_ds = create_output(
            partial_probability, region, grid, gdal.GDT_Float32, PROBABILITY_NODATA, PROBABILITY_DESCRIPTION, UNIT_PROBABILITY
        )
        mask_ds = create_output(partial_mask, region, grid, gdal.GDT_Byte, MASK_NODATA, MASK_DESCRIPTION, None)
        writer = RowWriter(probability_ds, mask_ds)
        try:
            run = _TileRun(
                model,
                settings,
                layout,
                region,
                BlendBuffer(min(layout.tile_px, region.height_px), region.width_px),
                counters,
                progress,
                threshold,
            )
            tiles = reader.stream(rows_of_tiles, lambda window: _tile_intersects(window, grid, mask_geometries), progress)
            for index, row_items in tile_rows(tiles):
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
    if choice.after_run is not None:
        log(choice.after_run())  # the run succeeded: start what waits on it (an int8 copy made in the background)
    return SegmentRun(
        model.provider,
        counters.tiles_run,
        counters.tiles_skipped,
        counters.model_seconds,
        time.perf_counter() - started,
        region,
        threshold,
        layout,
        choice.note,
        counters.tiles_more_views,
        counters.more_views_share / max(counters.tiles_run, 1),
        bool(settings.adaptive_views and views > 1),
    )


def _scene_key(raster_path: str, settings: SegmentSettings, region: Window) -> Optional[str]:
    """What identifies a scene for a cached int8 agreement check: the file, its size and time, the bands, the region."""
    try:
        status = os.stat(raster_path)
    except OSError:
        return None
    return (
        f"{os.path.abspath(raster_path)}|{status.st_size}|{status.st_mtime_ns}|{settings.bands}|{settings.calibration}|"
        f"{region.col_off},{region.row_off},{region.width_px},{region.height_px}"
    )


def _precision(
    model: SegmentationModel,
    model_path: str,
    settings: SegmentSettings,
    sampler: Callable[[int, int], list],
    threshold: float,
    log: Callable[[str], None],
    scene: RunScene,
) -> PrecisionChoice:
    choice = choose_precision(
        model,
        model_path,
        settings.precision,
        sampler,
        threshold,
        lambda path: load_model(path, settings.device, settings.threads),
        log,
        scene,
    )
    if settings.precision != Precision.FLOAT32:
        log(f"Precision: {choice.note}")
    return choice


@dataclass
class _TileRun:
    """The model's side of a run: batches of tiles through the model, their probabilities into the blend buffer."""

    model: SegmentationModel
    settings: SegmentSettings
    layout: TileLayout
    region: Window
    buffer: BlendBuffer
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
            self.buffer.add(
                tile,
                probability[context:, context:],
                tile_valid,
                blend_weights(tile, self.region.width_px, self.region.height_px, self.layout),
            )
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
            first[index], share = adaptive_views.refine(
                first[index], stacked[index], context, multiple, lambda x, f: averaged_probability(self.model, x, views, first=f)
            )
            self.counters.more_views_share += share
            self.counters.tiles_more_views += share > 0
        return first
