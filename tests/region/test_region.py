"""python -m rockglacier_plugin.region on a LocalCluster and on a scheduler started here on 127.0.0.1:
seams merged as one run over the mosaic would, resume, a failed scene, a killed worker, velocities."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr

from rockglacier_plugin.core.mapping.polygons import candidates_from_mask
from rockglacier_plugin.core.mapping.segmentation import SegmentSettings, segment_raster
from rockglacier_plugin.core.raster.geometry import Polygons
from tests.builders import read_layer, write_raster
from tests.conftest import require_module
from tests.onnx_builders import threshold_model

ROOT = Path(__file__).resolve().parents[2]
UTM = (400000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)


def _image() -> np.ndarray:
    """600 x 900 px, blobs everywhere, several across the planned scene borders (rows 300, cols 450)."""
    rng = np.random.default_rng(4)
    image = np.zeros((3, 600, 900), dtype=np.float32)
    for _ in range(40):
        r, c = rng.integers(10, 560), rng.integers(10, 860)
        h, w = rng.integers(12, 40), rng.integers(12, 40)
        image[:, r : r + h, c : c + w] = 255
    image[:, 280:330, 100:140] = 255  # across the horizontal border
    image[:, 100:140, 430:480] = 255  # across the vertical border
    image[:, 285:320, 435:470] = 255  # across both
    return image


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    require_module("distributed")
    folder = tmp_path_factory.mktemp("region")
    whole = write_raster(folder / "whole.tif", _image(), UTM, epsg=32644, dtype=gdal.GDT_Byte)
    scenes = []
    # four scenes overlapping by 40 px, and the right column cut exactly at the border (no overlap)
    for name, (col, row, width, height) in {
        "a": (0, 0, 470, 320),
        "b": (430, 0, 470, 320),
        "c": (0, 280, 470, 320),
        "d": (450, 280, 450, 320),
    }.items():
        path = folder / f"scene_{name}.tif"
        gdal.Translate(str(path), str(whole), srcWin=[col, row, width, height])
        scenes.append(str(path))
    model = threshold_model(folder / "threshold.onnx")
    return folder, whole, scenes, model


def _mosaic_reference(folder, whole, model, min_area):
    """One run over the mosaic of the scenes (the whole image), as rockglacier:segment does it."""
    segment_raster(str(whole), str(model), str(folder / "ref_p.tif"), str(folder / "ref_m.tif"), SegmentSettings(tile_px=128))
    candidates, _ = candidates_from_mask(str(folder / "ref_m.tif"), str(folder / "ref_p.tif"), min_area)
    return [ogr.CreateGeometryFromWkb(c.geometry_wkb) for c in candidates]


def _same_polygons(found, reference):
    assert len(found) == len(reference)
    unmatched = list(reference)
    for geometry in found:
        match = next((r for r in unmatched if r.SymDifference(geometry).GetArea() < 1e-6), None)
        assert match is not None, geometry.ExportToWkt()
        unmatched.remove(match)


def _request(scenes, model, output, work, tile_px=128, **kwargs):
    """The region's map request of these tests: the threshold model over bands 1-3, one view, 0.001 km2."""
    from rockglacier_plugin.core.workflows.mapping import MappingOptions
    from rockglacier_plugin.region.workflows import MapRequest

    options = MappingOptions(bands=(1, 2, 3), views=1, tile_px=tile_px, min_area_km2=0.001)
    return MapRequest(list(scenes), str(model), str(output), str(work), options, **kwargs)


def _client(workers=2):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    return Client(cluster), cluster


def test_map__seams_merged_equal_one_run_over_the_mosaic_and_a_rerun_resumes(region, tmp_path):
    from rockglacier_plugin.region.workflows import map_region

    folder, whole, scenes, model = region
    client, cluster = _client()
    try:
        output = str(tmp_path / "inventory.gpkg")
        result = map_region(client, _request(scenes, model, output, tmp_path / "work"), progress=False)
        assert len(result.report.done) == 4 and result.report.skipped == 0 and not result.report.failed
        rows = read_layer(output, "rock_glaciers")
        _same_polygons([ogr.CreateGeometryFromWkt(r["_wkt"]) for r in rows], _mosaic_reference(tmp_path, whole, model, 0.001))
        assert len({r["rg_id"] for r in rows}) == len(rows)  # one id per merged landform
        again = map_region(client, _request(scenes, model, output, tmp_path / "work"), progress=False)
        assert again.report.skipped == 4 and len(read_layer(output, "rock_glaciers")) == len(rows)
    finally:
        client.close()
        cluster.close()


def test_map__a_very_large_scene_in_overlapping_blocks_gives_the_same_inventory(region, tmp_path):
    from rockglacier_plugin.region.tasks import blocks
    from rockglacier_plugin.region.workflows import map_region

    folder, whole, scenes, model = region
    assert len(blocks(str(whole), 256, 32)) == 12  # 600 x 900 px in 256 px blocks overlapping by 32 px: 3 x 4
    client, cluster = _client()
    try:
        result = map_region(
            client,
            _request([str(whole)], model, tmp_path / "blocks.gpkg", tmp_path / "work", block_px=256, block_overlap_px=32),
            progress=False,
        )
    finally:
        client.close()
        cluster.close()
    assert len(result.report.done) == 12
    _same_polygons(
        [ogr.CreateGeometryFromWkt(r["_wkt"]) for r in read_layer(tmp_path / "blocks.gpkg", "rock_glaciers")],
        _mosaic_reference(tmp_path, whole, model, 0.001),
    )


def test_map__a_failed_scene_is_reported_and_the_others_go_on(region, tmp_path):
    from rockglacier_plugin.region.workflows import map_region

    folder, whole, scenes, model = region
    broken = tmp_path / "broken.tif"
    broken.write_text("not a raster")
    client, cluster = _client()
    try:
        result = map_region(
            client, _request(scenes + [str(broken)], model, tmp_path / "out.gpkg", tmp_path / "work"), progress=False
        )
    finally:
        client.close()
        cluster.close()
    assert len(result.report.done) == 4 and [name for name, _ in result.report.failed] == [str(broken)]
    assert "cannot be opened" in result.report.failed[0][1]
    assert result.n_features > 0


def test_map__a_worker_killed_mid_run_is_survived(region, tmp_path):
    from rockglacier_plugin.region.workflows import map_region

    folder, whole, scenes, model = region
    many = []
    for index in range(12):  # enough work that the kill lands mid-run
        copy = tmp_path / f"copy{index}_{os.path.basename(scenes[index % 4])}"
        shutil.copy(scenes[index % 4], copy)
        many.append(str(copy))
    client, cluster = _client()
    outcome = {}
    try:
        thread = threading.Thread(
            target=lambda: outcome.update(
                result=map_region(
                    client, _request(many, model, tmp_path / "out.gpkg", tmp_path / "work", tile_px=64), progress=False
                )
            )
        )
        thread.start()
        deadline = time.time() + 60
        while not list((tmp_path / "work").glob("*.done.json")) and time.time() < deadline:
            time.sleep(0.05)
        pids = client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        killed_at = len(list((tmp_path / "work").glob("*.done.json")))
        thread.join(timeout=300)
    finally:
        client.close()
        cluster.close()
    result = outcome["result"]
    assert killed_at < 12, "the kill came after the run"
    assert len(result.report.done) == 12 and not result.report.failed
    _same_polygons(
        [ogr.CreateGeometryFromWkt(r["_wkt"]) for r in read_layer(tmp_path / "out.gpkg", "rock_glaciers")],
        _mosaic_reference(tmp_path, whole, model, 0.001),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli__map_against_a_scheduler_started_on_localhost_and_on_a_local_cluster(region, tmp_path):
    folder, whole, scenes, model = region
    port = _free_port()
    # the dask CLI of this Python: its own bin folder first (a venv), else PATH (where a system-wide dask put it)
    dask = shutil.which("dask", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert dask, "the dask command is not installed; run `make setup`"
    # scheduler and workers import the package to unpickle the tasks: it must be on their path, as on a cluster
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = subprocess.Popen(
        [dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        command = [
            sys.executable,
            "-m",
            "rockglacier_plugin.region",
            "map",
            "--imagery",
            *scenes,
            "--model",
            str(model),
            "--min-area-km2",
            "0.001",
            "--tile-px",
            "128",
            "--views",
            "1",
            "--no-progress",
        ]
        remote = subprocess.run(
            command + ["--output", str(tmp_path / "remote.gpkg"), "--scheduler", f"tcp://127.0.0.1:{port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert remote.returncode == 0, remote.stdout + remote.stderr
        local = subprocess.run(
            command + ["--output", str(tmp_path / "local.gpkg"), "--workers", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert local.returncode == 0, local.stdout + local.stderr
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)
    reference = _mosaic_reference(tmp_path, whole, model, 0.001)
    for name in ("remote.gpkg", "local.gpkg"):
        _same_polygons([ogr.CreateGeometryFromWkt(r["_wkt"]) for r in read_layer(tmp_path / name, "rock_glaciers")], reference)
    assert "4 run, 0 already done, 0 failed" in local.stdout


def test_velocity__pairs_on_the_cluster_give_what_one_plugin_run_gives(tmp_path):
    require_module("h5py")
    from rockglacier_plugin.core.insar.landform_velocity import (
        PairInput,
        VelocitySettings,
        extract_velocities,
    )
    from rockglacier_plugin.core.insar.los_geometry import LosGeometry
    from rockglacier_plugin.core.insar.products import read_los_velocity
    from rockglacier_plugin.core.workflows.velocity import VelocityInputs
    from rockglacier_plugin.region.workflows import VelocityRequest, velocity_region
    from tests.builders import write_polygons
    from tests.insar_builders import EPSG, cone_scene
    from tests.product_builders import geotiff_velocity, mintpy_velocity

    scene = cone_scene(tmp_path / "scene", seed=5, aspects_deg=(20.0, 70.0, 110.0, 160.0))
    inventory = write_polygons(
        tmp_path / "inventory.gpkg",
        scene.landforms_wkt,
        epsg=EPSG,
        attributes={"rg_id": [f"wkl{i:03d}" for i in range(4)], "comment": ["a", "b", "c", "d"]},
    )
    velocity, geometry_file = mintpy_velocity(scene, tmp_path / "mintpy")
    tif = geotiff_velocity(scene, tmp_path / "tif")
    geometry = LosGeometry(None, scene.incidence_deg, scene.los_azimuth_deg)
    # the MintPy product (its geometry file) and the GeoTIFF (mm/yr, away from the satellite, constant geometry) in one run
    inputs = VelocityInputs(
        los_velocity=(str(velocity), str(tif)),
        product_geometry=str(geometry_file),
        velocity_unit="mm/yr",
        velocity_sign="away from the satellite",
    )
    client, cluster = _client()
    try:
        result = velocity_region(
            client,
            VelocityRequest(
                str(inventory),
                inputs,
                str(scene.dem),
                str(tmp_path / "out.gpkg"),
                str(tmp_path / "work"),
                geometry,
                VelocitySettings(),
            ),
            progress=False,
        )
    finally:
        client.close()
        cluster.close()
    maps = [
        read_los_velocity(str(velocity), str(geometry_file), ("mm/yr", "x"), geometry, (None, None), str(tmp_path / "w"))[0],
        read_los_velocity(str(tif), None, ("mm/yr", "away from the satellite"), geometry, (None, None), str(tmp_path / "w"))[0],
    ]
    wkb = [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in scene.landforms_wkt]
    direct = extract_velocities(
        Polygons(wkb, f"EPSG:{EPSG}", [f"wkl{i:03d}" for i in range(4)]),
        [PairInput.from_velocity_map(m) for m in maps],
        str(scene.dem),
        geometry,
        VelocitySettings(),
    )
    rows = read_layer(tmp_path / "out.gpkg", "rock_glaciers")
    assert [r["comment"] for r in rows] == ["a", "b", "c", "d"]  # the inventory's own fields kept
    for row, landform in zip(rows, direct.landforms):
        assert (row["vel_ok"], row["vel_pair"]) == (landform.vel_ok, landform.vel_pair)
        if landform.vel_dslp_cm_yr is not None:
            assert row["vel_dslp_cm_yr"] == pytest.approx(landform.vel_dslp_cm_yr, rel=1e-9)
    pairs = read_layer(tmp_path / "out.gpkg", "velocity_pairs")
    assert len(pairs) == len(direct.pair_rows) == 8
    for row, expected in zip(pairs, direct.pair_rows):  # the RGIK series, row by row in the same order
        assert (row["rg_id"], row["vel_pair"], row["vel_ok"]) == (expected["rg_id"], expected["vel_pair"], expected["vel_ok"])
    references = read_layer(tmp_path / "out.gpkg", "reference_points")
    assert [r["rg_id"] for r in references] == [lf.reference["rg_id"] for lf in direct.landforms if lf.reference is not None]
    assert not result.report.failed


def test_map__overlapping_scenes_count_their_ground_once(region):
    from rockglacier_plugin.region.merge import scene_area_km2

    folder, whole, scenes, model = region
    # four scenes overlapping by 40 px cover the 900 x 600 px image of 10 m pixels: 54 km2, not the 60.8 km2 of their sum
    assert scene_area_km2(scenes) == pytest.approx(54.0)
    assert scene_area_km2(scenes + scenes) == pytest.approx(54.0)


def test_cli__runs_from_any_folder_and_offers_every_option_of_the_algorithms(tmp_path):
    from rockglacier_plugin.core.workflows import velocity_options

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    helps = {
        command: subprocess.run(
            [sys.executable, "-m", "rockglacier_plugin.region", command, "--help"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for command in ("map", "velocity", "track")
    }
    for completed in helps.values():
        assert completed.returncode == 0, completed.stderr  # from a folder outside the repository
    velocity_flags = [o.flag for o in (*velocity_options.SETTINGS_NUMBERS, *velocity_options.SWITCHES)]
    velocity_flags += [
        "--sensor",
        "--velocity-unit",
        "--velocity-sign",
        "--heading-deg",
        "--left-looking",
        "--reference-date",
        "--reference-points",
        "--components",
        "--los",
        "--wavelength-m",
        "--velocity-downslope",
    ]
    assert [flag for flag in velocity_flags if flag not in helps["velocity"].stdout] == []
    map_flags = [
        "--bands",
        "--threshold",
        "--existing",
        "--device",
        "--views",
        "--tile-px",
        "--overlap-px",
        "--batch-size",
        "--extent",
        "--mask-layer",
        "--id-prefix",
        "--min-area-km2",
    ]
    assert [flag for flag in map_flags if flag not in helps["map"].stdout] == []
    from rockglacier_plugin.core.workflows.tracking import NUMBERS

    track_flags = ["--" + name.lower().replace("_", "-") for name, *_ in NUMBERS] + [
        "--kind",
        "--illumination",
        "--inventory",
        "--stable",
        "--velocity",
        "--date-1",
    ]
    assert [flag for flag in track_flags if flag not in helps["track"].stdout] == []


def test_track__bands_on_the_cluster_give_one_runs_points_and_rates_and_a_rerun_resumes(tmp_path):
    """A DEM pair whose landform moved by (2.4, -1.3) px, the rest stable: the points, the LoD and the landform's rate
    from 5 bands on 2 workers equal one run's (matching is per point, co-registration over all of them in the client)."""
    from datetime import date

    from rockglacier_plugin.core.tracking.displacements import TrackingSettings
    from rockglacier_plugin.core.tracking.feature_tracking import DEM, Areas, TrackingInputs, track_features
    from rockglacier_plugin.region.tracking import TrackRequest, track_region
    from tests.builders import write_polygons
    from tests.core.tracking.test_feature_tracking import _shifted, _texture

    dem = 3000.0 + 40.0 * _texture((420, 300), seed=3)
    gt = (500000.0, 1.0, 0.0, 5000000.0, 0.0, -1.0)
    first = write_raster(tmp_path / "dem_2019.tif", dem, gt, epsg=32632)
    moved = dem.copy()
    moved[150:300, 100:200] = _shifted(dem, 2.4, -1.3)[150:300, 100:200]  # the landform's box, sharp-edged
    second = write_raster(tmp_path / "dem_2021.tif", moved, gt, epsg=32632)
    landform_wkt = "POLYGON((500100 4999700,500200 4999700,500200 4999850,500100 4999850,500100 4999700))"
    inventory = write_polygons(tmp_path / "inventory.gpkg", [landform_wkt], epsg=32632, attributes={"rg_id": ["rg001"]})
    inputs = TrackingInputs(str(first), str(second), date(2019, 8, 1), date(2021, 8, 1), DEM, spacing_px=9)
    settings = TrackingSettings(template_px=21, search_radius_px=6, neighbour_radius_px=36.0)
    one = track_features(inputs, settings, Areas([ogr.CreateGeometryFromWkt(landform_wkt)]))
    request = TrackRequest(
        inputs,
        settings,
        str(tmp_path / "out.gpkg"),
        str(tmp_path / "work"),
        str(inventory),
        velocity=str(tmp_path / "velocity.tif"),
        bands=5,
    )
    client, cluster = _client()
    try:
        result = track_region(client, request, progress=False)
        again = track_region(client, request, progress=False)
    finally:
        client.close()
        cluster.close()
    assert not result.report.failed and len(result.report.done) == 5 and again.report.skipped == 5
    points = read_layer(tmp_path / "out.gpkg", "feature_tracking_points")
    assert len(points) == len(one.points.x) > 800
    east = np.array([p["east_m"] if p["east_m"] is not None else np.nan for p in points])
    assert np.array_equal(east, one.points.east_m, equal_nan=True)
    assert [p["reason"] for p in points] == one.points.reason
    landform = read_layer(tmp_path / "out.gpkg", "rock_glaciers")[0]
    assert landform["rg_id"] == "rg001" and landform["ft_vel_m_yr"] == pytest.approx(one.landforms[0]["ft_vel_m_yr"], rel=1e-12)
    assert landform["ft_vel_m_yr"] == pytest.approx(np.hypot(2.4, 1.3) / 2.0, rel=0.05)  # the known shift over two years
    assert gdal.Open(str(tmp_path / "velocity.tif")).RasterCount == 2
