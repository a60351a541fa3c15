"""The region command and the Processing algorithms run one pipeline: the same inputs through
``processing.run`` and ``python -m rockglacier_plugin.region`` (its ``main``, flags as a user types them)
give the same outputs, field by field."""

import numpy as np
import processing
import pytest
from osgeo import gdal

from tests.builders import read_layer, write_polygons, write_raster
from tests.conftest import require_module
from tests.insar_builders import EPSG, cone_scene
from tests.onnx_builders import threshold_model
from tests.product_builders import geotiff_velocity

VELOCITY_FIELDS = (
    "rg_id",
    "vel_dslp_cm_yr",
    "vel_err_cm_yr",
    "vel_rel_err",
    "vel_valid_frac",
    "vel_pair",
    "vel_geometry",
    "vel_ok",
    "kin_class",
    "vel_reason",
)
PAIR_FIELDS = (
    "rg_id",
    "vel_pair",
    "date_start",
    "date_end",
    "days",
    "vel_dslp_cm_yr",
    "vel_err_cm_yr",
    "vel_valid_frac",
    "vel_ok",
    "kin_class",
    "vel_reason",
    "vel_geometry",
)
REFERENCE_FIELDS = ("rg_id", "method", "rung", "distance_m", "elev_diff_m", "coherence", "vel_los_cm_yr", "sigma_cm_yr")


def _same(left, right, names):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        for name in names:
            if isinstance(a[name], float) or isinstance(b[name], float):
                assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name
            else:
                assert a[name] == b[name], name


def test_velocity__region_command_and_insarvelocity_give_the_same_fields(tmp_path):
    require_module("distributed")
    from rockglacier_plugin.region.cli import main

    scene = cone_scene(tmp_path / "scene", seed=5, aspects_deg=(20.0, 70.0, 110.0, 160.0))
    inventory = write_polygons(
        tmp_path / "inventory.gpkg",
        scene.landforms_wkt + [scene.landforms_wkt[0]],
        epsg=EPSG,
        attributes={"rg_id": ["wkl001", "wkl002", "wkl007", None, None]},
    )
    tif = geotiff_velocity(scene, tmp_path / "tif")  # mm/yr away from the satellite, no unit tag
    algorithm = tmp_path / "algorithm.gpkg"
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(inventory),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "LOS_VELOCITY": [str(tif)],
            "VELOCITY_UNIT": 2,
            "VELOCITY_SIGN": 1,
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": 38.7,
            "HEADING_DEG": -12.0,
            "SENSOR": 0,
            "MIN_COHERENCE": 0.35,
            "NOISE_CORRELATION_PX": 1.5,
            "REMOVE_STRATIFIED": False,
            "OUTPUT": str(algorithm),
            "REFERENCE_POINTS_OUTPUT": str(algorithm),
            "VELOCITY_PAIRS": str(algorithm),
        },
    )
    region = tmp_path / "region.gpkg"
    code = main(
        [
            "velocity",
            "--inventory",
            str(inventory),
            "--dem",
            str(scene.dem),
            "--output",
            str(region),
            "--unwrapped",
            str(scene.unwrapped_true),
            "--coherence",
            str(scene.coherence),
            "--los-velocity",
            str(tif),
            "--velocity-unit",
            "mm/yr",
            "--velocity-sign",
            "away",
            "--incidence-deg",
            "38.7",
            "--heading-deg",
            "-12",
            "--sensor",
            "ALOS-1 PALSAR",
            "--min-coherence",
            "0.35",
            "--noise-correlation-px",
            "1.5",
            "--no-remove-stratified",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0
    ours, theirs = read_layer(region, "rock_glaciers"), read_layer(algorithm, "rock_glaciers")
    assert [r["rg_id"] for r in ours] == ["wkl001", "wkl002", "wkl007", "rg001", "rg002"]  # ids as attributes assigns them
    assert sum(r["vel_ok"] for r in ours) >= 3  # a real comparison: most landforms measured
    _same(ours, theirs, VELOCITY_FIELDS)
    _same(read_layer(region, "velocity_pairs"), read_layer(algorithm, "velocity_pairs"), PAIR_FIELDS)
    references = [read_layer(path, "reference_points") for path in (region, algorithm)]
    _same(*references, REFERENCE_FIELDS)
    for a, b in zip(*references):
        assert a["_wkt"] == b["_wkt"]


def _image(path):
    rng = np.random.default_rng(3)
    image = np.zeros((3, 300, 400))
    for _ in range(12):
        r, c = rng.integers(5, 260), rng.integers(5, 360)
        image[:, r : r + rng.integers(15, 40), c : c + rng.integers(15, 40)] = 255
    return write_raster(path, image, (400000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), epsg=32644, dtype=gdal.GDT_Byte)


def test_map__region_command_and_segment_give_the_same_candidates_and_ids(tmp_path):
    require_module("distributed")
    from rockglacier_plugin.region.cli import main

    image = _image(tmp_path / "scene.tif")
    model = threshold_model(tmp_path / "threshold.onnx")
    existing = write_polygons(
        tmp_path / "existing.gpkg",
        ["POLYGON((400000 4000000,401000 4000000,401000 3998000,400000 3998000,400000 4000000))"],
        epsg=32644,
        attributes={"rg_id": ["zz041"]},
    )
    algorithm = tmp_path / "algorithm.gpkg"
    processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(image),
            "MODEL": str(model),
            "EXISTING": str(existing),
            "ID_PREFIX": "zz",
            "MIN_AREA_KM2": 0.002,
            "VIEWS": 0,
            "TILE_SIZE_PX": 128,
            "PROBABILITY": str(tmp_path / "p.tif"),
            "MASK": str(tmp_path / "m.tif"),
            "OUTPUT": str(algorithm),
        },
    )
    region = tmp_path / "region.gpkg"
    assert (
        main(
            [
                "map",
                "--imagery",
                str(image),
                "--model",
                str(model),
                "--existing",
                str(existing),
                "--id-prefix",
                "zz",
                "--min-area-km2",
                "0.002",
                "--views",
                "1",
                "--tile-px",
                "128",
                "--output",
                str(region),
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    ours, theirs = read_layer(region, "rock_glaciers"), read_layer(algorithm, "rock_glaciers")
    assert len(ours) >= 5 and all(r["rg_id"] > "zz041" for r in ours)  # ids continue after the existing inventory's
    assert any(r["match_rg_id"] == "zz041" for r in ours)
    _same(ours, theirs, ("rg_id", "source", "review", "area_km2", "dl_prob_mean", "match_rg_id", "lon", "lat"))


RENAMED = {
    "INPUT": None,
    "OUTPUT": "--output",
    "TILE_SIZE_PX": "--tile-px",
    "PROBABILITY": None,
    "MASK": None,
    "REFERENCE_POINTS_OUTPUT": None,
    "VELOCITY_PAIRS": None,
}  # None: written into --output or the work folder


@pytest.mark.parametrize(
    "algorithm, command, first", [("segment", "map", "--imagery"), ("insarvelocity", "velocity", "--inventory")]
)
def test_region_command__has_a_flag_for_every_parameter_of_the_algorithm(algorithm, command, first, capsys):
    from qgis.core import QgsApplication

    from rockglacier_plugin.region.cli import _parser

    with pytest.raises(SystemExit):
        _parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert first in text
    names = [
        p.name() for p in QgsApplication.processingRegistry().algorithmById(f"rockglacier:{algorithm}").parameterDefinitions()
    ]
    flags = [RENAMED.get(name, "--" + name.lower().replace("_", "-")) for name in names]
    assert [flag for flag in flags if flag and flag not in text] == []


def test_map__a_sentinel2_safe_product_through_the_region_command_and_segment_gives_the_same_candidates(tmp_path):
    require_module("distributed")
    from rockglacier_plugin.region.cli import main
    from tests.sentinel2_builders import echo_model, l2a_reflectance, write_safe

    safe = write_safe(tmp_path, l2a_reflectance(rows=160, cols=200))
    model = echo_model(tmp_path / "echo.onnx")  # probability = the rendered red / 255: bright snow is "rock glacier"
    processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(safe),
            "MODEL": str(model),
            "MIN_AREA_KM2": 0.001,
            "VIEWS": 0,
            "PROBABILITY": str(tmp_path / "p.tif"),
            "MASK": str(tmp_path / "m.tif"),
            "OUTPUT": str(tmp_path / "algorithm.gpkg"),
        },
    )
    assert (
        main(
            [
                "map",
                "--imagery",
                str(safe),
                "--model",
                str(model),
                "--min-area-km2",
                "0.001",
                "--views",
                "1",
                "--output",
                str(tmp_path / "region.gpkg"),
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    ours, theirs = read_layer(tmp_path / "region.gpkg", "rock_glaciers"), read_layer(tmp_path / "algorithm.gpkg", "rock_glaciers")
    assert len(ours) >= 1
    _same(ours, theirs, ("rg_id", "area_km2", "dl_prob_mean"))
