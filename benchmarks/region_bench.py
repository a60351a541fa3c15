"""python -m rockglacier_plugin.region's engine on a synthetic multi-scene set, on this machine.

Three runs over the same scenes with the shipped model, each ending with the same seam merge and
candidate tracing: a plain loop in this process (onnxruntime on every core), Dask with one worker
(every core) and Dask with two workers (one core each). Printed: times, the overhead of Dask over
the loop (goal <= 10 %), the speed-up from one to two workers, and km2/s per worker.

``noisy``: the client's share where tracing is heaviest (issue 43): a mosaic whose model output is mostly noise around
its threshold (``tracing_bench.noisy_scene``'s field as the input's first band, a threshold model), so the merged mask
holds tens of thousands of specks; Dask with two workers, the client's seconds (merge, tracing, writing) against the
wall time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .synthetic_scene import ORIGIN


def _scenes(folder: Path, n: int, size_px: int) -> list[str]:
    from osgeo import gdal, osr

    rng = np.random.default_rng(0)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32644)
    paths = []
    for index in range(n):
        image = rng.integers(60, 200, (3, size_px, size_px), dtype=np.uint8)
        path = folder / f"scene{index}.tif"
        dataset = gdal.GetDriverByName("GTiff").Create(str(path), size_px, size_px, 3, gdal.GDT_Byte, ["TILED=YES"])
        # a row of scenes overlapping by 10 %, like neighbouring Sentinel-2 tiles
        dataset.SetGeoTransform((ORIGIN[0] + index * int(0.9 * size_px) * 10.0, 10.0, 0.0, ORIGIN[1], 0.0, -10.0))
        dataset.SetProjection(srs.ExportToWkt())
        dataset.WriteRaster(0, 0, size_px, size_px, image.tobytes())
        dataset = None
        paths.append(str(path))
    return paths


def _plain_loop(scenes: list[str], model: str, work: Path) -> float:
    from dataclasses import asdict

    from rockglacier_plugin.core.mapping.polygons import candidates_from_mask
    from rockglacier_plugin.core.mapping.segmentation import SegmentSettings
    from rockglacier_plugin.core.raster.staged import unique_stem
    from rockglacier_plugin.region import tasks
    from rockglacier_plugin.region.merge import mosaic

    started = time.perf_counter()
    work.mkdir(parents=True)
    settings = asdict(SegmentSettings(views=1))  # one view, bands 1-3: the same work as the Dask runs below
    records = [tasks.map_scene(scene, model, str(work), unique_stem(scene), settings) for scene in scenes]
    probability, mask = mosaic(
        [r["probability"] for r in records], [r["mask"] for r in records], str(work / "p.tif"), str(work / "m.tif")
    )
    candidates_from_mask(mask, probability, 0.03)
    return time.perf_counter() - started


def _dask(client, scenes: list[str], model: str, work: Path, workers: int) -> tuple[float, float, float]:
    from rockglacier_plugin.core.workflows.mapping import MappingOptions
    from rockglacier_plugin.region.workflows import MapRequest, map_region

    threads = max(1, (os.cpu_count() or 1) // workers)
    started = time.perf_counter()
    request = MapRequest(scenes, model, str(work / "out.gpkg"), str(work / "tasks"), MappingOptions(bands=(1, 2, 3), views=1))
    result = map_region(client, request, threads=threads, progress=False)
    return time.perf_counter() - started, result.area_km2, result.client_seconds


def _noisy_scenes(folder: Path, n: int, size_px: int) -> tuple[list[str], int]:
    """``n`` overlapping 3-band 8-bit scenes whose first band is ``tracing_bench.noisy_scene``'s probability field, and
    the number of 8-connected regions the threshold model's masks hold (before the minimum area)."""
    from osgeo import gdal
    from scipy.ndimage import label

    from .tracing_bench import noisy_scene

    paths, regions = _scenes(folder, n, size_px), 0
    for index, path in enumerate(paths):
        (folder / f"field{index}").mkdir()
        _, probability = noisy_scene(folder / f"field{index}", size_px, seed=index)
        band = np.round(gdal.Open(str(probability)).ReadAsArray() * 255.0).astype(np.uint8)
        regions += label(band / 255.0 >= NOISY_LEVEL, structure=np.ones((3, 3)))[1]
        dataset = gdal.Open(path, gdal.GA_Update)
        dataset.GetRasterBand(1).WriteArray(band)
        dataset = None
    return paths, int(regions)


#: The threshold model's level on the first band (0-1): the noise field's own threshold in ``tracing_bench``.
NOISY_LEVEL = 0.56


def noisy(n_scenes: int = 3, size_px: int = 1536, costly: bool = True) -> dict:
    """The region command's client share on a noisy mosaic (module docstring); ``costly``: the model costs a ResNet34
    DeepLabv3+ (``user_models.noisy_resnet34``, needs PyTorch), else a bare threshold model (the client's worst case)."""
    from distributed import Client, LocalCluster
    from osgeo import ogr

    from rockglacier_plugin.core.mapping.model_metadata import ModelSpec
    from tests.onnx_builders import threshold_model

    work = Path(tempfile.mkdtemp(prefix="rockglacier-region-noisy-"))
    try:
        scenes, regions = _noisy_scenes(work, n_scenes, size_px)
        if costly:
            from .user_models import noisy_resnet34

            model = str(noisy_resnet34(work / "noisy.onnx", NOISY_LEVEL))
        else:
            model = str(threshold_model(work / "noisy.onnx", ModelSpec(margin_px=0), level=NOISY_LEVEL, sharpness=200.0))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                client.run(lambda: None)  # workers up before the clock starts
                seconds, area, client_seconds = _dask(client, scenes, model, work / "run", 2)
        outlines = ogr.Open(str(work / "run" / "out.gpkg"))  # held while its layer is read
        kept = outlines.GetLayer(0).GetFeatureCount()
        outlines = None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"region, noisy mosaic: {n_scenes} scenes of {size_px} px ({area:.0f} km2), "
        f"{'a ResNet34-cost model' if costly else 'a bare threshold model'} thresholding a noise field "
        f"({regions} 8-connected regions in the scenes' masks before the minimum area, {kept} candidates kept); Dask 2 "
        f"workers x 1 thread: {seconds:.1f} s wall, the client alone (merge, tracing, writing) {client_seconds:.1f} s = "
        f"{100 * client_seconds / seconds:.0f} % of it"
    )
    return {"wall_s": seconds, "client_s": client_seconds, "regions": regions, "kept": kept}


def run(n_scenes: int = 8, size_px: int = 1024, repeats: int = 3) -> dict:
    """Medians of ``repeats`` interleaved runs of each configuration (this machine's noise is 10-30 %)."""
    import statistics

    from distributed import Client, LocalCluster

    from rockglacier_plugin.core.mapping.onnx_model import default_model_path

    model = default_model_path(str(Path(__file__).resolve().parents[1] / "rockglacier_plugin" / "models"))[0]
    work = Path(tempfile.mkdtemp(prefix="rockglacier-region-bench-"))
    scenes = _scenes(work, n_scenes, size_px)
    clients = {}
    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        clients[workers] = (Client(cluster), cluster)
        clients[workers][0].run(lambda: None)  # workers up before the clock starts, as on a running cluster
    times: dict[str, list[float]] = {"loop": [], "one": [], "two": [], "client_two": []}
    area = 0.0
    try:
        for repeat in range(repeats):
            times["loop"].append(_plain_loop(scenes, model, work / f"loop{repeat}"))
            seconds, area, _ = _dask(clients[1][0], scenes, model, work / f"one{repeat}", 1)
            times["one"].append(seconds)
            seconds, _, client_seconds = _dask(clients[2][0], scenes, model, work / f"two{repeat}", 2)
            times["two"].append(seconds)
            times["client_two"].append(client_seconds)
    finally:
        for client, cluster in clients.values():
            client.close()
            cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    loop, one, two, client_two = (statistics.median(times[k]) for k in ("loop", "one", "two", "client_two"))
    print(
        f"region: {n_scenes} scenes of {size_px} px ({area:.0f} km2), shipped model, medians of {repeats}: plain loop "
        f"{loop:.1f} s; "
        f"Dask 1 worker x 2 threads {one:.1f} s (overhead {100 * (one / loop - 1):+.0f} %); Dask 2 workers x 1 thread (the "
        f"default sizing) {two:.1f} s (overhead {100 * (two / loop - 1):+.0f} %, goal <= 10 %; speed-up over 1 worker "
        f"{one / two:.2f}x); throughput {area / two:.1f} km2/s, {area / two / 2:.1f} km2/s per worker; the client alone "
        f"(merge, tracing, writing) {client_two:.1f} s = {100 * client_two / two:.0f} % of the 2-worker wall time"
    )
    return {"loop_s": loop, "one_s": one, "two_s": two, "area_km2": area, "client_two_s": client_two}
