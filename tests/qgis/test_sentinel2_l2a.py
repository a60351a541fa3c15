"""Sentinel-2 as users download it: L2A reflectance (stacks, SAFE folders, zips, STAC items) goes into
rockglacier:segment directly and is rendered exactly as the model's training imagery was.

Oracles: the documented rendering written out independently (``tests.sentinel2_builders.expected_8bit``), an
echo model whose probability is the 8-bit value it was fed, and the shipped model run on the L2A data and on its
8-bit rendering made by the test itself.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import processing
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from tests.builders import read_layer, write_polygons
from tests.qgis.feedback import RecordingFeedback
from tests.sentinel2_builders import (
    EPSG,
    GT,
    dn_from_reflectance,
    echo_model,
    expected_8bit,
    l2a_reflectance,
    write_safe,
    write_stac_item,
    write_stack,
)

RGB = (2, 1, 0)  # B04, B03, B02 among the builders' B02, B03, B04, B08


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("l2a")
    rho = l2a_reflectance()
    echoes = [echo_model(folder / f"echo{c}.onnx", c) for c in range(3)]
    return folder, rho, echoes


def _seen(raster, model, folder, **extra):
    """The 8-bit values the model was fed (its probability x 255) and the log."""
    feedback = RecordingFeedback()
    probability = folder / f"p_{len(os.listdir(folder))}.tif"
    processing.run(
        "rockglacier:segment",
        {
            "INPUT": str(raster),
            "MODEL": str(model),
            "VIEWS": 0,
            "MIN_AREA_KM2": 0,
            "PROBABILITY": str(probability),
            "MASK": "TEMPORARY_OUTPUT",
            "OUTPUT": "TEMPORARY_OUTPUT",
            **extra,
        },
        feedback=feedback,
    )
    values = gdal.Open(str(probability)).ReadAsArray()
    return np.where(values >= 0, np.round(values * 255.0), -1), feedback


@pytest.mark.parametrize(
    "case",
    [
        "uint16 baseline 04.00+, GDAL offset/scale",
        "uint16 baseline 03.01, metadata items",
        "uint16, L2A_ADD_OFFSET given",
        "float32 reflectance",
        "float32 DN, L2A_ADD_OFFSET given",
    ],
)
def test_rendering__every_l2a_form_gives_the_documented_8bit_values(scene, tmp_path, case):
    folder, rho, echoes = scene
    offset = 0.0 if "03.01" in case else -1000.0
    dn = np.stack([dn_from_reflectance(rho[i], offset) for i in RGB])
    extra = {}
    if case.startswith("float32 reflectance"):
        reflectance = np.where(dn > 0, (dn.astype(np.float64) + offset) / 10000.0, np.nan).astype(np.float32)
        path = write_stack(tmp_path / "stack.tif", reflectance, gdal.GDT_Float32, nodata=np.nan)
    else:
        data = dn.astype(np.float32) if case.startswith("float32") else dn
        path = write_stack(tmp_path / "stack.tif", data, gdal.GDT_Float32 if case.startswith("float32") else gdal.GDT_UInt16)
        dataset = gdal.Open(str(path), gdal.GA_Update)
        for index in range(1, 4):
            band = dataset.GetRasterBand(index)
            if "GDAL offset/scale" in case:  # gdal_edit.py -scale 0.0001 -offset -0.1
                band.SetScale(0.0001)
                band.SetOffset(-0.1)
            elif "metadata items" in case:
                band.SetMetadataItem("BOA_ADD_OFFSET", "0")
                band.SetMetadataItem("BOA_QUANTIFICATION_VALUE", "10000")
        dataset = None
        if "given" in case:
            extra = {"L2A_ADD_OFFSET": offset}
    for channel, model in enumerate(echoes):
        seen, feedback = _seen(path, model, tmp_path, **extra)
        expected = expected_8bit(dn[channel], offset)
        if case.startswith("float32 reflectance"):  # what the float file holds, to float32 precision
            expected = np.floor(255.0 * np.clip(reflectance[channel].astype(np.float64) + 0.1, 0.0, 1.0))
        valid = dn[channel] > 0
        assert np.array_equal(seen[valid], expected[valid]), case
        assert (seen[~valid] == -1).all()  # no-data stays no-data
    assert any("8-bit = floor(255 x clip(rho + 0.1, 0, 1))" in line for line in feedback.infos)
    assert 0 < (expected == 255).mean() < 0.5 and expected[valid].min() < 30  # snow clipped, shadows dark: the test bites


def test_safe_folder_zip_mtd_and_stac_item__are_read_as_the_stack_with_their_offset(scene, tmp_path):
    folder, rho, echoes = scene
    dn = np.stack([dn_from_reflectance(rho[i], -1000.0) for i in RGB])
    expected = expected_8bit(dn[0], -1000.0)
    valid = dn[0] > 0
    safe = write_safe(tmp_path / "safe", rho)
    inputs = {
        "SAFE folder": safe,
        "MTD_MSIL2A.xml": safe / "MTD_MSIL2A.xml",
        "zip": write_safe(tmp_path / "zip", rho, zipped=True),
        "STAC item": write_stac_item(tmp_path / "stac", rho),
    }
    for name, path in inputs.items():
        seen, feedback = _seen(path, echoes[0], tmp_path)
        assert np.array_equal(seen[valid], expected[valid]), name
        assert any("- 0.1" in line and ("BOA_ADD_OFFSET -1000" in line or "raster:bands" in line) for line in feedback.infos), (
            name
        )
    old = write_safe(tmp_path / "old", rho, baseline="03.01")  # before baseline 04.00: no offset, and the product says so
    seen, feedback = _seen(old, echoes[0], tmp_path)
    old_dn = dn_from_reflectance(rho[2], 0.0)
    assert np.array_equal(seen[valid], expected_8bit(old_dn, 0.0)[valid])
    assert any("baseline 03.01: no offset" in line for line in feedback.infos)


def test_shipped_model__same_probability_from_l2a_as_from_its_8bit_rendering(scene, tmp_path):
    folder, rho, _ = scene
    safe = write_safe(tmp_path, rho)
    dn = np.stack([dn_from_reflectance(rho[i], -1000.0) for i in RGB])
    rendered = np.stack([np.where(dn[c] > 0, expected_8bit(dn[c], -1000.0), 0) for c in range(3)]).astype(np.uint8)
    byte = write_stack(tmp_path / "rendered.tif", rendered, gdal.GDT_Byte)
    probabilities = []
    for raster in (safe, byte):
        out = tmp_path / f"p_{len(probabilities)}.tif"
        processing.run(
            "rockglacier:segment",
            {
                "INPUT": str(raster),
                "VIEWS": 0,
                "DEVICE": 1,
                "PROBABILITY": str(out),
                "MASK": "TEMPORARY_OUTPUT",
                "OUTPUT": "TEMPORARY_OUTPUT",
            },
        )
        probabilities.append(gdal.Open(str(out)).ReadAsArray())
    assert probabilities[0].shape == rendered.shape[1:]
    assert np.abs(probabilities[0] - probabilities[1]).max() < 1e-6
    assert probabilities[0].max() > probabilities[0][probabilities[0] >= 0].min()  # the model saw structure, not a constant


def test_refusals__no_offset_a_contradicting_offset_and_a_model_without_rendering(scene, tmp_path):
    folder, rho, echoes = scene
    dn = np.stack([dn_from_reflectance(rho[i], -1000.0) for i in RGB])
    bare = write_stack(tmp_path / "bare.tif", dn)
    with pytest.raises(
        QgsProcessingException, match="without saying their offset: give L2A_ADD_OFFSET .*-1000 for processing baseline 04.00"
    ):
        _seen(bare, echoes[0], tmp_path)
    safe = write_safe(tmp_path, rho)
    with pytest.raises(QgsProcessingException, match="L2A_ADD_OFFSET=0 contradicts MTD_MSIL2A.xml"):
        _seen(safe, echoes[0], tmp_path, L2A_ADD_OFFSET=0)
    no_rendering = echo_model(tmp_path / "plain.onnx", 0, rendering=None)
    with pytest.raises(QgsProcessingException, match="does not say how its training imagery was made from reflectance"):
        _seen(bare, no_rendering, tmp_path, L2A_ADD_OFFSET=-1000)


def test_shipped_models__state_their_rendering_and_the_card_cites_it():
    from rockglacier_plugin.core.mapping.onnx_model import load_model
    from rockglacier_plugin.core.mapping.rendering import CHILE_CHIPS

    models = os.path.join(os.path.dirname(__file__), "..", "..", "rockglacier_plugin", "models")
    for name in ("rockglacier_default.onnx", "rockglacier_default_int8.onnx"):
        assert load_model(os.path.join(models, name), "cpu").spec.rendering == CHILE_CHIPS
    with open(os.path.join(models, "MODEL_CARD.html"), encoding="utf-8") as handle:
        card = handle.read()
    assert (
        "floor(255 x clip(rho + 0.1, 0, 1))" in card
        and "alcazar90/rock-glacier-detection" in card
        and "SemiAutomaticClassificationPlugin" in card
    )


def test_trainingpatches__l2a_imagery_gives_8bit_patches_rendered_as_the_model_and_says_so(scene, tmp_path):
    folder, rho, _ = scene
    safe = write_safe(tmp_path, rho)
    x0, y0 = GT[0], GT[3]
    polygons = write_polygons(
        tmp_path / "rg.gpkg",
        [
            f"POLYGON(({x0 + 300} {y0 - 300},{x0 + 600} {y0 - 300},{x0 + 600} {y0 - 600},"
            f"{x0 + 300} {y0 - 600},{x0 + 300} {y0 - 300}))"
        ],
        epsg=EPSG,
    )
    out = tmp_path / "patches"
    processing.run(
        "rockglacier:trainingpatches",
        {"IMAGERY": str(safe), "INPUT": str(polygons), "CONTEXT_M": 200, "VALIDATION_FRACTION": 0, "OUTPUT_FOLDER": str(out)},
    )
    image = next((out / "images").glob("*.tif"))
    dataset = gdal.Open(str(image))
    assert gdal.GetDataTypeName(dataset.GetRasterBand(1).DataType) == "Byte"
    col, row = (int(round(v)) for v in ((dataset.GetGeoTransform()[0] - GT[0]) / 10, (GT[3] - dataset.GetGeoTransform()[3]) / 10))
    red = dataset.GetRasterBand(1).ReadAsArray()
    dn = dn_from_reflectance(rho[2], -1000.0)[row : row + red.shape[0], col : col + red.shape[1]]
    assert np.array_equal(red[dn > 0], expected_8bit(dn, -1000.0)[dn > 0])
    with open(out / "summary.json", encoding="utf-8") as handle:
        summary = json.load(handle)
    assert summary["rendering"]["reflectance_add"] == 0.1
    from training.model.rendering import patches_rendering

    assert patches_rendering(str(out)).describe() == "floor(255 x clip(rho + 0.1, 0, 1))"  # the trained model will state it


def test_qgis_process__a_safe_folder_as_input_from_the_command_line(scene, tmp_path):
    folder, rho, _ = scene
    safe = write_safe(tmp_path, rho)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [
            shutil.which("qgis_process") or "qgis_process",
            "run",
            "rockglacier:segment",
            "--",
            f"INPUT={safe}",
            "VIEWS=0",
            "PROBABILITY=p.tif",
            "MASK=m.tif",
            "OUTPUT=c.gpkg",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "BOA_ADD_OFFSET -1000" in done.stdout and "floor(255 x clip(rho + 0.1, 0, 1))" in done.stdout
    assert read_layer(tmp_path / "c.gpkg", "rock_glaciers") is not None
