"""No silent wrong numbers: units read from the files, grids checked before any work, messages a user can read.

Each test feeds what a user has (a velocity raster in cm/yr, a DEM in feet, a raster in another UTM zone...)
through ``processing.run`` or ``qgis_process`` and checks the numbers against the same data in the units the
plugin expects, or the message that stops the run.
"""

import os
import shutil
import subprocess

import numpy as np
import processing
import pytest
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException

from tests.builders import plane_dem, read_layer, square_wkt, write_polygons, write_raster
from tests.insar_builders import EPSG, cone_scene
from tests.product_builders import geotiff_velocity
from tests.qgis.feedback import RecordingFeedback

FEET = 0.3048
ORIGIN = (600000.0, 5200000.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    scene = cone_scene(folder / "scene", seed=5, aspects_deg=(20.0, 70.0, 110.0, 160.0))
    polygons = write_polygons(
        folder / "rg.gpkg", scene.landforms_wkt, epsg=EPSG, attributes={"rg_id": [f"rg{i:03d}" for i in range(1, 5)]}
    )
    return scene, polygons, folder


def _copy(source, target, scale=1.0, unit=None, epsg=None):
    """A copy of a one-band raster with values scaled, a unit tag, or another CRS claimed."""
    dataset = gdal.Open(str(source))
    values = dataset.GetRasterBand(1).ReadAsArray().astype(np.float64) * scale
    nodata = dataset.GetRasterBand(1).GetNoDataValue()
    return write_raster(target, values, dataset.GetGeoTransform(), epsg=epsg or EPSG, nodata=nodata, unit=unit)


def _velocities(scene, polygons, **parameters):
    base = {
        "INPUT": str(polygons),
        "DEM": str(scene.dem),
        "INCIDENCE_DEG": scene.incidence_deg,
        "LOS_AZIMUTH_DEG": scene.los_azimuth_deg,
        "VELOCITY_SIGN": 1,
        "OUTPUT": "TEMPORARY_OUTPUT",
    }
    return [
        (f["rg_id"], f["vel_dslp_cm_yr"], f["vel_ok"])
        for f in processing.run("rockglacier:insarvelocity", {**base, **parameters}, feedback=RecordingFeedback())[
            "OUTPUT"
        ].getFeatures()
    ]


def _same(found, expected, rel=1e-6):
    assert [(rg_id, ok) for rg_id, _, ok in found] == [(rg_id, ok) for rg_id, _, ok in expected]
    assert [v for _, v, _ in found] == pytest.approx([v for _, v, _ in expected], rel=rel)


def test_los_velocity_unit__read_from_the_tag_refused_when_absent_and_checked_when_given(scene, tmp_path):
    scene, polygons, _ = scene
    untagged_mm = geotiff_velocity(scene, tmp_path)  # mm/yr, away from the satellite, no unit tag
    expected = _velocities(scene, polygons, LOS_VELOCITY=[str(untagged_mm)], VELOCITY_UNIT=2)
    assert sum(ok for _, _, ok in expected) >= 2 and all(v is not None and v > 5 for _, v, _ in expected)
    tagged_cm = _copy(untagged_mm, tmp_path / "los_velocity_20150101_20191231_cm.tif", 0.1, "cm/yr")
    _same(_velocities(scene, polygons, LOS_VELOCITY=[str(tagged_cm)]), expected)  # no VELOCITY_UNIT: the tag
    tagged_ma = _copy(untagged_mm, tmp_path / "los_velocity_20150101_20191231_ma.tif", 0.001, "m a-1")
    assert [v for _, v, _ in _velocities(scene, polygons, LOS_VELOCITY=[str(tagged_ma)])] == pytest.approx(
        [v for _, v, _ in expected]
    )
    with pytest.raises(QgsProcessingException, match="does not say its unit.*set VELOCITY_UNIT"):
        _velocities(scene, polygons, LOS_VELOCITY=[str(untagged_mm)])
    with pytest.raises(QgsProcessingException, match="VELOCITY_UNIT=mm/yr contradicts .* unit tag 'cm/yr'"):
        _velocities(scene, polygons, LOS_VELOCITY=[str(tagged_cm)], VELOCITY_UNIT=2)


def test_velocity_rasters__carry_unit_and_description_and_read_back_as_they_were_written(scene, tmp_path):
    scene, polygons, _ = scene
    los = tmp_path / "v_los_20070716_20070831.tif"
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(scene.dem),
            "INCIDENCE_DEG": scene.incidence_deg,
            "LOS_AZIMUTH_DEG": scene.los_azimuth_deg,
            "SENSOR": 0,
            "OUTPUT": "TEMPORARY_OUTPUT",
            "VELOCITY_LOS": str(los),
            "VELOCITY_DOWNSLOPE": str(tmp_path / "v_dslp.tif"),
        },
    )
    for path in (los, tmp_path / "v_dslp.tif"):
        dataset = gdal.Open(str(path))
        band = dataset.GetRasterBand(1)
        assert band.GetUnitType() == "cm/yr" and "velocity" in band.GetDescription()
    fed_back = _velocities(scene, polygons, LOS_VELOCITY=[str(los)], VELOCITY_SIGN=0)  # the plugin's own output, no unit given
    truth = scene.velocity_dslp_cm_per_yr
    assert [v for _, v, ok in fed_back if ok] == pytest.approx([t for (_, _, ok), t in zip(fed_back, truth) if ok], rel=0.25)


def test_dem_in_feet__tagged_is_converted_untagged_is_flagged(tmp_path):
    z, gt = plane_dem(120, 10.0, ORIGIN, 30.0, 270.0, z0_m=2500.0)
    metres = write_raster(tmp_path / "dem_m.tif", z, gt)
    tagged = write_raster(tmp_path / "dem_ft.tif", z / FEET, gt, unit="ft")
    untagged = write_raster(tmp_path / "dem_ft_untagged.tif", z / FEET, gt)
    polygons = write_polygons(tmp_path / "rg.gpkg", [square_wkt(ORIGIN[0] + 600, ORIGIN[1] - 600, 300)])

    def run(dem):
        feedback = RecordingFeedback()
        row = next(
            processing.run(
                "rockglacier:attributes",
                {"INPUT": str(polygons), "DEM": str(dem), "OUTPUT": "TEMPORARY_OUTPUT"},
                feedback=feedback,
            )["OUTPUT"].getFeatures()
        )
        return row, feedback

    reference, _ = run(metres)
    converted, feedback = run(tagged)
    for name in ("elev_mean_m", "elev_min_m", "elev_max_m", "slope_mean_deg", "aspect_deg"):
        assert converted[name] == pytest.approx(reference[name], rel=1e-6), name
    assert reference["slope_mean_deg"] == pytest.approx(30.0, abs=0.01)
    assert any("is in ft (its unit tag): elevations converted to metres" in line for line in feedback.infos)
    wrong, feedback = run(untagged)
    assert wrong["slope_mean_deg"] > 60  # what the file says, read as metres ...
    assert any("median slope of" in w and "gdal_edit.py -units ft" in w for w in feedback.warnings)  # ... and said


def test_insar_dem_in_feet__gives_the_velocities_of_the_dem_in_metres(scene, tmp_path):
    scene, polygons, _ = scene
    feet = _copy(scene.dem, tmp_path / "dem_usft.tif", 3937.0 / 1200.0, "US survey foot")
    common = {"UNWRAPPED": [str(scene.unwrapped_true)], "COHERENCE": [str(scene.coherence)], "SENSOR": 0, "VELOCITY_SIGN": 0}
    in_metres = _velocities(scene, polygons, **common)
    _same(_velocities(scene, polygons, **common, DEM=str(feet)), in_metres, rel=1e-5)


def test_rasters_in_another_utm_zone__stop_before_any_work_naming_both(scene, tmp_path):
    scene, polygons, _ = scene
    wrong_zone = _copy(scene.coherence, tmp_path / "coherence_45n.tif", epsg=32645)
    with pytest.raises(
        QgsProcessingException,
        match=r"coherence 'coherence_45n.tif' \(WGS 84 / UTM zone 45N, EPSG:32645.*does not "
        r"overlap the interferogram .*UTM zone 44N, EPSG:32644",
    ):
        _velocities(scene, polygons, UNWRAPPED=[str(scene.unwrapped_true)], COHERENCE=[str(wrong_zone)], SENSOR=0)
    dem_elsewhere = _copy(scene.dem, tmp_path / "dem_45n.tif", epsg=32645)
    with pytest.raises(QgsProcessingException, match="DEM 'dem_45n.tif'.*does not overlap the input layer"):
        processing.run(
            "rockglacier:attributes", {"INPUT": str(polygons), "DEM": str(dem_elsewhere), "OUTPUT": "TEMPORARY_OUTPUT"}
        )
    # a DEM covering half the interferogram: a warning with the share
    dataset = gdal.Open(str(scene.dem))
    half = tmp_path / "dem_half.tif"
    gdal.Translate(str(half), dataset, srcWin=[0, 0, dataset.RasterXSize // 2, dataset.RasterYSize])
    feedback = RecordingFeedback()
    processing.run(
        "rockglacier:insarvelocity",
        {
            "INPUT": str(polygons),
            "UNWRAPPED": [str(scene.unwrapped_true)],
            "COHERENCE": [str(scene.coherence)],
            "DEM": str(half),
            "INCIDENCE_DEG": 38.7,
            "LOS_AZIMUTH_DEG": 102.0,
            "SENSOR": 0,
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
        feedback=feedback,
    )
    assert any("The DEM 'dem_half.tif' covers 50 % of the extent of the interferogram" in line for line in feedback.infos)


def test_no_wavelength_is_assumed(scene):
    scene, polygons, _ = scene
    with pytest.raises(QgsProcessingException, match="radar wavelength .* is not in its metadata: set SENSOR"):
        _velocities(scene, polygons, UNWRAPPED=[str(scene.unwrapped_true)], COHERENCE=[str(scene.coherence)])


def test_rgikexport__a_layer_without_rg_id_is_numbered_as_attributes_numbers_it(tmp_path):
    layer = write_polygons(tmp_path / "no_ids.gpkg", [square_wkt(ORIGIN[0] + 500 * i, ORIGIN[1], 200) for i in range(1, 4)])
    feedback = RecordingFeedback()
    result = processing.run(
        "rockglacier:rgikexport", {"INPUT": str(layer), "OUTPUT": str(tmp_path / "rgik.gpkg")}, feedback=feedback
    )
    assert [m["WorkingID"] for m in read_layer(result["OUTPUT"], "primary_markers")] == ["rg001", "rg002", "rg003"]
    assert any("3 landform(s) had no rg_id" in w for w in feedback.warnings)


def test_report__a_layer_without_inventory_fields_is_refused_with_the_list(tmp_path):
    layer = tmp_path / "plain.gpkg"
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(layer))
    srs = ogr.osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    target = dataset.CreateLayer("outlines", srs, ogr.wkbPolygon)
    target.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    feature = ogr.Feature(target.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt(square_wkt(ORIGIN[0], ORIGIN[1], 200)))
    target.CreateFeature(feature)
    dataset = None
    with pytest.raises(QgsProcessingException, match="has none of the fields the report reads.*upslope_con, elev_mean_m"):
        processing.run("rockglacier:report", {"INPUT": str(layer), "OUTPUT": str(tmp_path / "r.html")})


def test_a_table_without_geometries__is_refused_for_what_it_is(tmp_path):
    table = tmp_path / "table.gpkg"
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(table))
    dataset.CreateLayer("rows", None, ogr.wkbNone).CreateField(ogr.FieldDefn("rg_id", ogr.OFTString))
    dataset = None
    dem = write_raster(tmp_path / "dem.tif", np.zeros((10, 10)), (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10))
    with pytest.raises(QgsProcessingException, match="table without geometries; give a layer of polygons"):
        processing.run(
            "rockglacier:attributes", {"INPUT": f"{table}|layername=rows", "DEM": str(dem), "OUTPUT": "TEMPORARY_OUTPUT"}
        )


def test_evaluate__writes_its_layers_as_rock_glaciers(tmp_path):
    reference = write_polygons(tmp_path / "reference.gpkg", [square_wkt(ORIGIN[0], ORIGIN[1], 200)])
    candidates = write_polygons(tmp_path / "candidates.gpkg", [square_wkt(ORIGIN[0] + 20, ORIGIN[1], 200)])
    processing.run(
        "rockglacier:evaluate",
        {
            "CANDIDATES": str(candidates),
            "REFERENCE": str(reference),
            "OUTPUT": str(tmp_path / "evaluated.gpkg"),
            "REFERENCE_OUTPUT": str(tmp_path / "ref.gpkg"),
        },
    )
    for name in ("evaluated.gpkg", "ref.gpkg"):
        assert ogr.Open(str(tmp_path / name)).GetLayer(0).GetName() == "rock_glaciers"
    elsewhere = write_polygons(tmp_path / "elsewhere.gpkg", [square_wkt(ORIGIN[0], ORIGIN[1], 200)], epsg=32633)
    with pytest.raises(QgsProcessingException, match="does not overlap"):
        processing.run(
            "rockglacier:evaluate", {"CANDIDATES": str(elsewhere), "REFERENCE": str(reference), "OUTPUT": "TEMPORARY_OUTPUT"}
        )


def _qgis_process(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(
        [shutil.which("qgis_process") or "qgis_process", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_qgis_process__messages_on_their_own_lines_errors_once_no_stray_notices(scene, tmp_path):
    scene, polygons, _ = scene
    image = write_raster(
        tmp_path / "image.tif", np.full((3, 400, 400), 120.0), (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), dtype=gdal.GDT_Byte
    )
    done = _qgis_process(
        "rockglacier:segment",
        "--",
        f"INPUT={image}",
        "VIEWS=0",
        "TILE_SIZE_PX=128",
        "PROBABILITY=p.tif",
        "MASK=m.tif",
        "OUTPUT=c.gpkg",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("0...10") for line in lines)  # progress shown...
    assert not [line for line in lines if "..." in line and any(c.isalpha() for c in line.replace("done", ""))]  # ...never run on
    failed = _qgis_process(
        "rockglacier:segment",
        "--",
        f"INPUT={image}",
        "BANDS=9,2,1",
        "PROBABILITY=p.tif",
        "MASK=m.tif",
        "OUTPUT=c.gpkg",
        cwd=tmp_path,
    )
    assert failed.returncode != 0
    assert (failed.stdout + failed.stderr).count("BANDS asks for band 9") == 1
    velocity = _qgis_process(
        "rockglacier:insarvelocity",
        "--",
        f"INPUT={polygons}",
        f"UNWRAPPED={scene.unwrapped_true}",
        f"COHERENCE={scene.coherence}",
        f"DEM={scene.dem}",
        "INCIDENCE_DEG=38.7",
        "LOS_AZIMUTH_DEG=102",
        "SENSOR=0",
        "OUTPUT=v.gpkg",
        cwd=tmp_path,
    )
    assert velocity.returncode == 0, velocity.stderr[-2000:]
    assert "ISCE2" not in velocity.stdout  # no notice about a program the run did not need


def test_segment__bands_that_swap_the_tagged_colours_are_flagged(tmp_path):
    from tests.onnx_builders import threshold_model

    image = write_raster(
        tmp_path / "rgb.tif", np.full((3, 64, 64), 100.0), (ORIGIN[0], 10, 0, ORIGIN[1], 0, -10), dtype=gdal.GDT_Byte
    )
    dataset = gdal.Open(str(image), gdal.GA_Update)
    for index, colour in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand), start=1):
        dataset.GetRasterBand(index).SetColorInterpretation(colour)
    dataset = None
    model = threshold_model(tmp_path / "m.onnx")  # its bands: red, green, blue
    feedback = RecordingFeedback()
    processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(image),
            "MODEL": str(model),
            "BANDS": "3,2,1",
            "VIEWS": 0,
            "PROBABILITY": str(tmp_path / "p.tif"),
            "MASK": str(tmp_path / "m.tif"),
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
        feedback=feedback,
    )
    assert any(
        "BANDS=3,2,1 feeds the raster's blue, green, red bands" in line and "BANDS=1,2,3" in line for line in feedback.infos
    )
    dataset = gdal.Open(str(tmp_path / "p.tif"))
    probability = dataset.GetRasterBand(1)
    assert probability.GetUnitType() == "1" and "probability" in probability.GetDescription()
