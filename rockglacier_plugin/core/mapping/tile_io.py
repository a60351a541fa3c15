"""Reading tiles and writing rows, each in a thread of its own so that GDAL works while the model runs: the model's
input for a tile (the tile, its context, the standardised zero beyond the raster), a bounded queue of tiles read
ahead, and finished rows written behind; memory stays bounded whatever the raster's size."""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from ..progress import Progress
from ..raster.io import BandInfo, create_geotiff, open_raster
from ..raster.windows import Window
from .input_scaling import model_input, valid_mask
from .tiling import TileLayout, padded_size

#: ZSTD level 1 compresses several times faster than DEFLATE at a similar ratio (GDAL >= 2.3).
CREATION_OPTIONS = ["TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"]
Converter = Callable[[np.ndarray], np.ndarray]


def create_output(
    path: str, region: Window, grid: Any, data_type: int, nodata: float, description: str, unit: Optional[str]
) -> Any:
    """The probability and mask GeoTIFFs of a run on ``grid``'s region, staged (complete or absent)."""
    return create_geotiff(
        path,
        (region.width_px, region.height_px),
        region.transform(grid.geotransform),
        grid.crs_wkt,
        data_type,
        CREATION_OPTIONS,
        band_info=BandInfo(nodata=nodata, description=description, unit=unit),
    )


class RowWriter:
    """Writes finished rows in a thread of its own (GDAL compresses while the model runs the next row); one row
    waits at most, so memory stays bounded. Errors surface at the next write or at ``close``."""

    def __init__(self, probability_ds: Any, mask_ds: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.datasets = (probability_ds, mask_ds)
        self.executor: Optional[ThreadPoolExecutor] = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="rockglacier-row-writer"
        )
        self.pending: Any = None

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def write(self, row: int, probability: np.ndarray, mask: np.ndarray) -> None:
        """Write finished rows from ``row`` on."""
        self._wait()
        if self.executor is None:
            raise RuntimeError("RowWriter.write after close")
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


def read_tile(
    dataset: Any,
    region: Window,
    tile: Window,
    bands: Sequence[int],
    spec: Any,
    layout: TileLayout,
    converter: Optional[Converter] = None,
) -> tuple[np.ndarray, np.ndarray]:
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
    raw = (
        dataset.ReadAsArray(
            read_col0,
            read_row0,
            read_col1 - read_col0,
            read_row1 - read_row0,
            band_list=list(bands),
        )
        .astype(np.float32)
        .reshape(len(bands), read_row1 - read_row0, read_col1 - read_col0)
    )
    if converter is None:
        tensor, valid = model_input(raw, spec)
    else:  # no-data found on the stored values, before the rendering
        valid = valid_mask(raw, spec.nodata)
        tensor, _ = model_input(converter(raw), spec, valid)
    pads = ((read_row0 - row0, row0 + height_in - read_row1), (read_col0 - col0, col0 + width_in - read_col1))
    if any(any(p) for p in pads):
        tensor = np.pad(tensor, ((0, 0),) + pads, mode="constant", constant_values=0.0)
    top, left = row0 + context - read_row0, col0 + context - read_col0
    return tensor, valid[top : top + tile.height_px, left : left + tile.width_px]


def tile_rows(items: Iterator[tuple]) -> Iterator[tuple[int, list]]:
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


class TileReader:
    """Reads and scales the model's input for each tile in a thread of its own (its own GDAL dataset), a
    bounded queue ahead of the model: reading overlaps inference (onnxruntime releases the GIL while it runs)
    and memory stays bounded (``QUEUE_TILES`` inputs waiting)."""

    def __init__(
        self,
        raster_path: str,
        region: Window,
        bands: Sequence[int],
        spec: Any,
        layout: TileLayout,
        converter: Optional[Converter],
    ) -> None:
        self.raster_path, self.region, self.bands, self.spec, self.layout, self.converter = (
            raster_path,
            region,
            tuple(bands),
            spec,
            layout,
            converter,
        )

    def read(self, dataset: Any, tile: Window) -> tuple[np.ndarray, np.ndarray]:
        """A tile's values and validity, read with its context (no-data and the area beyond the raster filled)."""
        return read_tile(dataset, self.region, tile, self.bands, self.spec, self.layout, self.converter)

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

    def stream(
        self, rows_of_tiles: Sequence[Sequence[Window]], wanted: Callable[[Window], bool], progress: Progress
    ) -> Iterator[tuple[int, Optional[tuple]]]:
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
                        on_raster = Window(
                            self.region.col_off + tile.col_off, self.region.row_off + tile.row_off, tile.width_px, tile.height_px
                        )
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
