"""Sentinel-2 L2A as catalogues deliver it, read from REAL metadata (../shared/datasets/sentinel2-l2a-metadata: an Earth
Search v0 item, a Planetary Computer item, a Copernicus Data Space STAC 1.1 item, a 2017 Level-2Ap MTD_MSIL2A.xml) with
small band rasters written where the metadata puts them, each DN stored by that catalogue's convention. Oracles: the
documented rendering of the true reflectance written out independently (``expected_8bit``) through an echo model whose
probability is the 8-bit value it was fed (to 1e-3 = a quarter of one 8-bit step), and the convention and offset named
in the log.

No Earth Search v1 item is in ../shared: its items are built here with the properties of a real one (S2A_31UFU_20230701,
quoted in a public STAC tutorial) and the raster:bands Earth Search writes (scale 0.0001, offset -0.1)."""

import json
import os
import shutil

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from tests.qgis.feedback import RecordingFeedback
from tests.sentinel2_builders import (
    _jp2,
    dn_from_reflectance,
    echo_model,
    expected_8bit,
    l2a_reflectance,
    write_stack,
)

METADATA = "sentinel2-l2a-metadata"
RGB = {"B04": 2, "B03": 1, "B02": 0}  # band -> index in l2a_reflectance's B02, B03, B04, B08
ES_V1_PROPERTIES = {
    "s2:processing_baseline": "05.09",
    "s2:product_type": "S2MSI2A",
    "s2:product_uri": "S2A_MSIL2A_20230701T103631_N0509_R008_T31UFU_20230701T200058.SAFE",
    "earthsearch:s3_path": "s3://sentinel-cogs/sentinel-s2-l2a-cogs/31/U/FU/2023/7/S2A_31UFU_20230701_0_L2A",
    "earthsearch:boa_offset_applied": True,
    "processing:software": {"sentinel2-to-stac": "0.1.0"},
}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalogues")
    return folder, l2a_reflectance(rows=160, cols=200, seed=3), [echo_model(folder / f"echo{c}.onnx", c) for c in range(3)]


def _seen(path, models, folder, **extra):
    """The 8-bit values each of the three channels was fed (probability x 255, from three echo models), and the log."""
    channels, feedback = [], RecordingFeedback()
    for index, model in enumerate(models):
        probability = folder / f"p_{len(os.listdir(folder))}.tif"
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(path),
                "MODEL": str(model),
                "VIEWS": 0,
                "MIN_AREA_KM2": 0,
                "PROBABILITY": str(probability),
                "MASK": "TEMPORARY_OUTPUT",
                "OUTPUT": "TEMPORARY_OUTPUT",
                **extra,
            },
            feedback=feedback if index == 0 else None,
        )
        channels.append(gdal.Open(str(probability)).ReadAsArray())
    return np.stack(channels), feedback


def _assert_reference(probabilities, rho, stored_offset_dn=-1000.0):
    """Every valid pixel's probability equals the documented rendering of the reflectance the files hold / 255, to 1e-3
    (numbers stored without offset cannot hold a reflectance below 0: the reference is what they hold)."""
    dn = np.stack([dn_from_reflectance(rho[RGB[band]], stored_offset_dn) for band in ("B04", "B03", "B02")])
    expected = expected_8bit(dn, stored_offset_dn) / 255.0
    valid = probabilities[0] >= 0
    assert valid.mean() > 0.9
    assert np.abs(probabilities[:, valid] - expected[:, valid]).max() <= 1e-3


def _band_file(folder, relative, rho, band, add_offset_dn, jp2=False):
    """One band where the metadata puts it, its DN as the catalogue stores them (DN = rho x 10000 - add_offset_dn)."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    values = dn_from_reflectance(rho[RGB[band]], add_offset_dn)
    if jp2:
        _jp2(path, values)
    else:
        write_stack(path, values[None], descriptions=None)
    return path


def _real_item(shared_dataset, name, folder):
    source = shared_dataset(METADATA) / "odc-stac" / name
    shutil.copy(source, folder / name)
    return folder / name, json.loads(source.read_text())


@pytest.mark.parametrize(
    "case",
    [
        "earth search v0 (N0214 in sentinel:product_id)",
        "planetary computer (s2:processing_baseline 02.12)",
        "copernicus data space STAC 1.1 (raster:offset on B04_10m)",
    ],
)
def test_real_catalogue_items__read_by_their_own_convention_give_the_reference_rendering(scene, shared_dataset, tmp_path, case):
    folder, rho, echoes = scene
    if case.startswith("earth search v0"):
        item, data = _real_item(shared_dataset, "S2A_28QCH_20200714_0_L2A.json", tmp_path)
        for band in RGB:  # href https://.../B04.tif: the downloaded file of that name beside the item
            _band_file(tmp_path, os.path.basename(data["assets"][band]["href"]), rho, band, 0.0)
        expected_log, stored = ("processing baseline 02.14 stated in sentinel:product_id", "DN x 0.0001 ("), 0.0
    elif case.startswith("planetary"):
        item, data = _real_item(shared_dataset, "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json", tmp_path)
        for band in RGB:
            _band_file(tmp_path, os.path.basename(data["assets"][band]["href"].split("?")[0]), rho, band, 0.0)
        expected_log, stored = ("processing baseline 02.12 stated in s2:processing_baseline", "DN x 0.0001 ("), 0.0
    else:
        item, data = _real_item(
            shared_dataset, "S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914_cdse_stac_v110_trimmed.json", tmp_path
        )
        for band in RGB:  # s3:// href; file:local_path names the file inside the SAFE, relative to the item
            _band_file(tmp_path, data["assets"][f"{band}_10m"]["file:local_path"], rho, band, -1000.0, jp2=True)
        expected_log, stored = ("STAC 1.1 raster:scale/raster:offset", "DN x 0.0001 - 0.1"), -1000.0
    probabilities, feedback = _seen(item, echoes, tmp_path)
    _assert_reference(probabilities, rho, stored)
    assert all(text in feedback.text() for text in expected_log), feedback.text()[-1500:]


def _earth_search_v1(folder, rho, applied, numbers_offset_dn, baseline="05.09"):
    """An Earth Search v1 item (assets red/green/blue with raster:bands scale 0.0001 offset -0.1) and COGs whose numbers
    carry ``numbers_offset_dn``."""
    assets = {}
    for band, key in (("B04", "red"), ("B03", "green"), ("B02", "blue")):
        _band_file(folder, f"{band}.tif", rho, band, numbers_offset_dn)
        assets[key] = {
            "href": f"https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/31/U/FU/2023/7/"
            f"S2A_31UFU_20230701_0_L2A/{band}.tif",
            "raster:bands": [
                {
                    "nodata": 0,
                    "data_type": "uint16",
                    "bits_per_sample": 15,
                    "spatial_resolution": 10,
                    "scale": 0.0001,
                    "offset": -0.1,
                }
            ],
        }
    properties = {**ES_V1_PROPERTIES, "earthsearch:boa_offset_applied": applied, "s2:processing_baseline": baseline}
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2A_31UFU_20230701_0_L2A",
        "collection": "sentinel-2-l2a",
        "properties": properties,
        "assets": assets,
        "links": [],
        "geometry": None,
    }
    path = folder / "S2A_31UFU_20230701_0_L2A.json"
    path.write_text(json.dumps(item))
    return path


@pytest.mark.parametrize(
    "applied, numbers_offset_dn, baseline", [(True, 0.0, "05.09"), (False, -1000.0, "05.09"), (False, 0.0, "03.01")]
)
def test_earth_search_v1__boa_offset_applied_is_honoured_never_applied_twice(
    scene, tmp_path, applied, numbers_offset_dn, baseline
):
    """Harmonised COGs (flag true) are read as DN / 10000 although raster:bands says -0.1; raw ones by their baseline
    (an item before 04.00 whose raster:bands says -0.1 anyway is read without offset)."""
    folder, rho, echoes = scene
    item = _earth_search_v1(tmp_path, rho, applied, numbers_offset_dn, baseline)
    probabilities, feedback = _seen(item, echoes, tmp_path)
    _assert_reference(probabilities, rho, numbers_offset_dn)
    assert f"Earth Search v1 (earthsearch:boa_offset_applied = {str(applied).lower()})" in feedback.text()


def test_earth_search_v1__a_wrong_flag_is_caught_by_the_numbers_and_overridden_by_l2a_add_offset(scene, tmp_path):
    """The known catalogue error: the flag says false (offset still in the numbers) but the COGs are harmonised. The
    offset would be taken twice: the run stops and says so; L2A_ADD_OFFSET=0 overrides the flag, with the reference result."""
    folder, rho, echoes = scene
    item = _earth_search_v1(tmp_path, rho, applied=False, numbers_offset_dn=0.0)
    with pytest.raises(QgsProcessingException, match=r"looks offset twice.*give L2A_ADD_OFFSET=0"):
        _seen(item, echoes[:1], tmp_path)
    probabilities, feedback = _seen(item, echoes, tmp_path, L2A_ADD_OFFSET=0)
    _assert_reference(probabilities, rho, 0.0)
    assert "overriding earthsearch:boa_offset_applied" in feedback.text()


def test_items_without_offset_or_baseline__refused_unless_l2a_add_offset_given_and_contradictions_refused(
    scene, shared_dataset, tmp_path
):
    folder, rho, echoes = scene
    item, data = _real_item(shared_dataset, "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json", tmp_path)
    for band in RGB:
        _band_file(tmp_path, os.path.basename(data["assets"][band]["href"].split("?")[0]), rho, band, 0.0)
    stripped = {
        **data,
        "id": "no-baseline",
        "properties": {
            k: v
            for k, v in data["properties"].items()
            if k not in ("s2:processing_baseline", "s2:product_uri", "s2:datatake_id", "s2:granule_id", "s2:datastrip_id")
        },
    }
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(stripped))
    with pytest.raises(QgsProcessingException, match="states neither.*give L2A_ADD_OFFSET"):
        _seen(bare, echoes[:1], tmp_path)
    probabilities, feedback = _seen(bare, echoes, tmp_path, L2A_ADD_OFFSET=0)  # the STAC reader now uses it
    _assert_reference(probabilities, rho, 0.0)
    with pytest.raises(QgsProcessingException, match="contradicts processing baseline 02.12"):
        _seen(item, echoes[:1], tmp_path, L2A_ADD_OFFSET=-1000)


def test_level_2ap_product_of_2017__read_with_its_own_tags(scene, shared_dataset, tmp_path):
    """The 2017 format (PSD 14.2: IMAGE_FILE_2A, L2A_BOA_QUANTIFICATION_VALUE, baseline 02.05, no offset) was refused as
    'not a Level-2A MTD'."""
    folder, rho, echoes = scene
    source = next((shared_dataset(METADATA) / "gdal-autotest").glob("*.SAFE"))
    safe = tmp_path / source.name
    safe.mkdir()
    shutil.copy(source / "MTD_MSIL2A.xml", safe / "MTD_MSIL2A.xml")
    for line in (safe / "MTD_MSIL2A.xml").read_text().splitlines():
        if "<IMAGE_FILE_2A>" in line and "_10m<" in line and any(f"_{b}_" in line for b in RGB):
            relative = line.split(">")[1].split("<")[0]
            band = next(b for b in RGB if f"_{b}_" in relative)
            _band_file(safe, relative + ".jp2", rho, band, 0.0, jp2=True)
    probabilities, feedback = _seen(safe, echoes, tmp_path)
    _assert_reference(probabilities, rho, 0.0)
    assert "processing baseline 02.05" in feedback.text()


STACTOOLS = os.environ.get("STACTOOLS_SENTINEL2_GIT", "/work/.mirror/stactools-packages+sentinel2/repo")
STACTOOLS_SAFE = "tests/data-files/S2A_MSIL2A_20230625T234621_N0509_R073_T01WCP_20230626T022157.SAFE"
STACTOOLS_TILE = "GRANULE/L2A_T01WCP_A041826_20230625T234624/MTD_TL.xml"


def _stactools_safe(folder, rho):
    """A real ESA SAFE's metadata (baseline 05.09) from stactools-packages/sentinel2's test data (a git mirror; skipped
    without it), its 10 m tile size in MTD_TL.xml trimmed to the test's bands, and the 10 m bands written where its
    MTD_MSIL2A.xml lists them (DN with the -1000 offset)."""
    import re
    import subprocess

    if not os.path.exists(os.path.join(STACTOOLS, "HEAD")):
        pytest.skip(f"no git mirror of stactools-packages/sentinel2 at {STACTOOLS} (fetch github:stactools-packages/sentinel2)")
    safe = folder / os.path.basename(STACTOOLS_SAFE)
    for relative in ("MTD_MSIL2A.xml", STACTOOLS_TILE):
        target = safe / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", "--git-dir", STACTOOLS, "show", f"HEAD:{STACTOOLS_SAFE}/{relative}"], capture_output=True, check=True
            ).stdout
        )
    tile = safe / STACTOOLS_TILE
    rows, cols = rho.shape[1:]
    tile.write_text(
        re.sub(r'(<Size resolution="10">\s*<NROWS>)10980(</NROWS>\s*<NCOLS>)10980', rf"\g<1>{rows}\g<2>{cols}", tile.read_text())
    )
    for found in re.finditer(r"<IMAGE_FILE>([^<]*_(B0[234])_10m)</IMAGE_FILE>", (safe / "MTD_MSIL2A.xml").read_text()):
        _band_file(safe, found.group(1) + ".jp2", rho, found.group(2), -1000.0, jp2=True)
    return safe


def test_gdal_sentinel2_subdataset__matched_by_gdals_band_descriptions_with_the_offset_of_its_mtd(scene, tmp_path):
    """SENTINEL2_L2A:<MTD>:10m:EPSG_x strings (QGIS's own Sentinel-2 sublayers) were refused: their bands are described
    "B4, central wavelength 665 nm", and the offset is the MTD's."""
    folder, rho, echoes = scene
    safe = _stactools_safe(tmp_path, rho)
    name = f"SENTINEL2_L2A:{safe / 'MTD_MSIL2A.xml'}:10m:EPSG_32601"
    probabilities, feedback = _seen(name, echoes, tmp_path)
    _assert_reference(probabilities, rho)
    assert "GDAL subdataset 10m EPSG_32601, processing baseline 05.09" in feedback.text()
    assert "BOA_ADD_OFFSET -1000" in feedback.text()
    with pytest.raises(QgsProcessingException, match="true-colour image \\(TCI\\).*10m subdataset"):
        _seen(name.replace(":10m:", ":TCI:"), echoes[:1], tmp_path)


def test_resolution_folder_and_zipped_esri_safe__read_as_their_product(scene, tmp_path):
    """The R10m folder given as INPUT (QGIS said "not found"), and a zipped SAFE with GeoTIFF bands (Esri's; .jp2 was
    assumed inside zips)."""
    from tests.sentinel2_builders import write_safe

    folder, rho, echoes = scene
    safe = write_safe(tmp_path / "folder", rho)
    r10 = next(safe.glob("GRANULE/*/IMG_DATA/R10m"))
    probabilities, feedback = _seen(r10, echoes, tmp_path)
    _assert_reference(probabilities, rho)
    assert f"(the product {safe})" in feedback.text()
    zipped = write_safe(tmp_path / "esri", rho, zipped=True, tif_bands=True)
    probabilities, feedback = _seen(zipped, echoes, tmp_path)
    _assert_reference(probabilities, rho)
    assert "_B04_10m.tif" in feedback.text()
