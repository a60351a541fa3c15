"""Tiled ONNX inference: seamless blending equal to a whole-image run, scaling from metadata,
no-data borders, bounded outputs, bad input, and candidate polygons."""

import math

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import gdal, ogr

from rockglacier_plugin.core.errors import InputRasterError, OperationCancelled, ParameterError
from rockglacier_plugin.core.mapping.model_metadata import InputScaling, ModelSpec, spec_from_metadata
from rockglacier_plugin.core.mapping.onnx_model import InputModelError, load_model
from rockglacier_plugin.core.mapping.polygons import candidates_from_mask
from rockglacier_plugin.core.mapping.segmentation import MapArea, SegmentSettings, segment_raster
from rockglacier_plugin.core.mapping.tiling import TileLayout, blend_weights, tile_starts, tile_windows
from rockglacier_plugin.core.progress import RunHooks
from tests.builders import write_raster
from tests.onnx_builders import (
    blob_image,
    box_mean_model,
    edge_model,
    identity_model,
    reflectance_spec,
    strided_model,
    threshold_model,
)

UTM = (400000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)


def rgb(tmp_path, image, name="img.tif", geotransform=UTM, epsg=32644, dtype=gdal.GDT_Byte, nodata=None):
    return write_raster(tmp_path / name, image, geotransform, epsg=epsg, dtype=dtype, nodata=nodata)


def segment(tmp_path, raster, model, **kwargs):
    run = segment_raster(
        str(raster), str(model), str(tmp_path / "prob.tif"), str(tmp_path / "mask.tif"), SegmentSettings(**kwargs)
    )
    return run, gdal.Open(str(tmp_path / "prob.tif")).ReadAsArray(), gdal.Open(str(tmp_path / "mask.tif")).ReadAsArray()


@given(st.integers(1, 3000), st.sampled_from([64, 256, 512]), st.integers(0, 3), st.sampled_from([1, 16, 32]))
def test_tiles__cover_the_axis_start_on_the_model_grid_and_overlap_enough(length, tile, half_overlap, align):
    layout = TileLayout(tile, 2 * half_overlap + 8, align)
    starts = tile_starts(length, layout)
    covered = np.zeros(length, bool)
    for start in starts:
        assert 0 <= start < length and start % align == 0
        covered[start : start + tile] = True
    assert covered.all()
    assert starts[-1] + tile >= length > starts[-1] + tile - max(align, 1) or len(starts) == 1
    assert all(b - a <= tile - layout.overlap_px for a, b in zip(starts, starts[1:]))


@settings(deadline=None, max_examples=30)
@given(st.integers(40, 700), st.integers(40, 700), st.integers(0, 8))
def test_blend_weights__every_pixel_has_weight_and_shared_edges_ramp_from_near_zero(width, height, half_overlap):
    layout = TileLayout(64, 2 * half_overlap + 8, 16)
    total = np.zeros((height, width))
    for row in tile_windows(width, height, layout):
        for tile in row:
            weights = blend_weights(tile, width, height, layout)
            if tile.col_off > 0:
                assert (weights[:, 0] < 0.1).all()
            if tile.row_off > 0:
                assert (weights[0] < 0.1).all()
            total[tile.row_off : tile.row_off + tile.height_px, tile.col_off : tile.col_off + tile.width_px] += weights
    assert (total > 0).all()


@pytest.mark.parametrize("radius, dilation", [(2, 1), (3, 4)])
def test_tiled_blend__equals_one_whole_image_run_for_a_convolutional_model(tmp_path, radius, dilation):
    image = np.floor(np.random.default_rng(0).random((3, 700, 900)) * 256).astype(np.float32)
    raster = rgb(tmp_path, image)
    model = box_mean_model(tmp_path / "box.onnx", radius, dilation=dilation)
    run, probability, _ = segment(tmp_path, raster, model, tile_px=128)
    assert run.tiles_run > 20  # really tiled
    whole = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        None, {"input": (image / 255.0)[None].astype(np.float32)}
    )[0][0, 0]
    rf = radius * dilation
    assert np.abs(probability - whole)[rf:-rf, rf:-rf].max() < 1e-4


def test_tiled_blend__equals_one_whole_image_run_for_a_model_that_downsamples(tmp_path):
    """Tiles start on the model's 16 px grid (even at the raster's far edges), so a stride-2 model sees
    every pixel at the same phase as in one whole-image run; odd-sized rasters included."""
    image = np.floor(np.random.default_rng(1).random((3, 333, 517)) * 256).astype(np.float32)
    raster = rgb(tmp_path, image)
    model = strided_model(tmp_path / "strided.onnx")
    run, probability, _ = segment(tmp_path, raster, model, tile_px=128)
    assert run.tiles_run > 10
    padded = np.pad(image / 255.0, ((0, 0), (0, 336 - 333), (0, 528 - 517)))
    whole = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        None, {"input": padded[None].astype(np.float32)}
    )[0][0, 0]
    assert np.abs(probability - whole[:333, :517]).max() < 1e-5


def test_no_seams__a_linear_ramp_stays_linear_across_tile_edges(tmp_path):
    ramp = np.tile(np.linspace(1, 255, 1000, dtype=np.float32), (3, 400, 1))  # 0 would be no-data
    raster = rgb(tmp_path, np.round(ramp), dtype=gdal.GDT_Float32)
    _, probability, _ = segment(tmp_path, raster, identity_model(tmp_path / "id.onnx"), tile_px=128)
    second_difference = np.abs(np.diff(probability[200], 2))
    assert second_difference.max() < 2.0 / 255.0  # rounding steps only, no jump at tile edges


def test_reflectance_scaling__follows_the_model_metadata(tmp_path):
    dn = np.full((3, 64, 64), 1500.0, dtype=np.float32)  # reflectance 0.15 = half of the 0.3 stretch
    raster = rgb(tmp_path, dn, dtype=gdal.GDT_UInt16)
    _, probability, _ = segment(tmp_path, raster, identity_model(tmp_path / "id.onnx", reflectance_spec()))
    assert np.allclose(probability, 0.5, atol=1e-6)


def test_sixteen_bit_input_to_an_8bit_model__is_refused_with_advice(tmp_path):
    raster = rgb(tmp_path, np.full((3, 32, 32), 3000.0, dtype=np.float32), dtype=gdal.GDT_UInt16)
    with pytest.raises(
        InputRasterError, match="model takes 8-bit imagery and does not say how its training imagery was made from reflectance"
    ):
        segment(tmp_path, raster, identity_model(tmp_path / "id.onnx"))


def test_zero_borders__are_no_data_and_make_no_false_candidates(tmp_path):
    image = np.full((3, 300, 300), 120.0, dtype=np.float32)
    image[:, :, :60] = 0  # a Sentinel-2 tile's black border
    raster = rgb(tmp_path, image)
    _, probability, mask = segment(tmp_path, raster, edge_model(tmp_path / "edge.onnx"), tile_px=128)
    assert (probability[:, :60] == -1).all() and (mask[:, :60] == 255).all()
    # The edge model fires on any sharp edge (its zero padding makes one at the image's own
    # border): along the no-data border it must not, since it never sees a black edge there.
    assert (mask[1:-1, 60:-1] == 0).all()


def test_band_checks__missing_band_and_wrong_count(tmp_path):
    raster = rgb(tmp_path, np.zeros((3, 32, 32), dtype=np.float32))
    model = identity_model(tmp_path / "id.onnx")
    with pytest.raises(InputRasterError, match="BANDS asks for band 4"):
        segment(tmp_path, raster, model, bands=(4, 3, 2))
    with pytest.raises(ParameterError, match="takes 3 channels"):
        segment(tmp_path, raster, model, bands=(1, 2))


def test_fixed_size_model__tile_size_mismatch_is_explained(tmp_path):
    raster = rgb(tmp_path, np.zeros((3, 300, 300), dtype=np.float32))
    model = identity_model(tmp_path / "fixed.onnx", ModelSpec(margin_px=16), fixed_size=128)
    with pytest.raises(
        ParameterError,
        match="only accepts 128 x 128 px input, which holds a 96 px tile and 16 px of context on each side; set TILE_SIZE_PX=96",
    ):
        segment(tmp_path, raster, model, tile_px=256)
    run, probability, _ = segment(tmp_path, raster, model)  # the model's own size is used
    assert run.layout.tile_px == 96 and run.layout.input_px == 128 and probability.shape == (300, 300)


@pytest.mark.parametrize("fixed_batch", [1, 3])
def test_fixed_batch_model__deepness_style_export_runs_with_any_batch_setting(tmp_path, fixed_batch):
    rng = np.random.default_rng(4)
    raster = rgb(tmp_path, rng.integers(0, 256, (3, 300, 300)).astype(np.uint8))
    fixed = identity_model(tmp_path / "fixed_batch.onnx", fixed_batch=fixed_batch)
    free = identity_model(tmp_path / "free.onnx")
    _, expected, _ = segment(tmp_path, raster, free, tile_px=128, batch_size=4)
    run, probability, _ = segment(tmp_path, raster, fixed, tile_px=128, batch_size=4)  # 4 tiles a call, model takes fixed_batch
    assert run.tiles_run == 9
    np.testing.assert_allclose(probability, expected, atol=1e-6)


def test_tile_size_not_multiple_of_16__is_refused(tmp_path):
    raster = rgb(tmp_path, np.zeros((3, 300, 300), dtype=np.float32))
    with pytest.raises(ParameterError, match="TILE_SIZE_PX=500 is not divisible by the model's size multiple 16; use 496 or 512"):
        segment(tmp_path, raster, identity_model(tmp_path / "id.onnx"), tile_px=500)


@pytest.mark.parametrize("tile", [16, 48, 128, 512])
def test_tile_size__changes_nothing_when_the_context_covers_the_receptive_field(tmp_path, tile):
    """Each tile reads the model's margin (rounded up to 16 px) around it, the neutral input (0) beyond
    the raster: every tile size gives the answer of one whole-raster run, borders included."""
    image = np.floor(np.random.default_rng(2).random((3, 150, 230)) * 256).astype(np.float32)
    raster = rgb(tmp_path, image)
    rf = 9
    model = box_mean_model(tmp_path / "box.onnx", 3, spec=ModelSpec(margin_px=rf), dilation=3)
    run, probability, _ = segment(tmp_path, raster, model, tile_px=tile)
    assert run.layout.context_px == 16
    whole = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        None, {"input": (image / 255.0)[None].astype(np.float32)}
    )[0][0, 0]
    np.testing.assert_allclose(probability, whole, atol=1e-5)


def test_corrupted_onnx__says_so(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(InputModelError, match="cannot be loaded by onnxruntime"):
        load_model(str(tmp_path / "broken.onnx"), "cpu")


def test_extent__empty_or_outside_is_refused(tmp_path):
    raster = rgb(tmp_path, np.zeros((3, 64, 64), dtype=np.float32))
    model = identity_model(tmp_path / "id.onnx")
    with pytest.raises(ParameterError, match="EXTENT does not overlap"):
        segment_raster(
            str(raster), str(model), str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), area=MapArea(extent=(0, 0, 10, 10))
        )
    with pytest.raises(ParameterError, match="EXTENT is empty"):
        segment_raster(
            str(raster), str(model), str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), area=MapArea(extent=(5, 5, 5, 5))
        )


def test_cancel__leaves_no_output_that_looks_finished(tmp_path):
    raster = rgb(tmp_path, np.zeros((3, 400, 400), dtype=np.float32))
    with pytest.raises(OperationCancelled):
        segment_raster(
            str(raster),
            str(identity_model(tmp_path / "id.onnx")),
            str(tmp_path / "p.tif"),
            str(tmp_path / "m.tif"),
            SegmentSettings(tile_px=64),
            hooks=RunHooks(is_cancelled=lambda: True),
        )
    assert not list(tmp_path.glob("p.tif*")) and not list(tmp_path.glob("m.tif*"))


def test_mask_polygons__skip_tiles_outside(tmp_path):
    raster = rgb(tmp_path, np.full((3, 512, 512), 200.0, dtype=np.float32))
    corner = ogr.CreateGeometryFromWkt("POLYGON((400010 3999990,400100 3999990,400100 3999900,400010 3999900,400010 3999990))")
    run = segment_raster(
        str(raster),
        str(identity_model(tmp_path / "id.onnx")),
        str(tmp_path / "p.tif"),
        str(tmp_path / "m.tif"),
        SegmentSettings(tile_px=128),
        MapArea(geometries=[corner]),
    )
    probability = gdal.Open(str(tmp_path / "p.tif")).ReadAsArray()
    assert run.tiles_run == 1 and run.tiles_skipped > 10
    assert (probability[:100, :100] > 0.7).all() and (probability[300:, 300:] == -1).all()


def test_candidates__8_connected_holes_kept_small_specks_dropped_metric_areas(tmp_path):
    raster = rgb(tmp_path, blob_image())
    segment(tmp_path, raster, threshold_model(tmp_path / "t.onnx"), tile_px=128)
    candidates, dropped = candidates_from_mask(str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif"), 0.03)
    areas = sorted(round(c.area_km2, 4) for c in candidates)
    # UTM 44N at this position: grid areas are within 0.1 % of the ellipsoid's
    assert areas == pytest.approx([0.18, 1.96], rel=2e-3)
    assert dropped == 1
    holed = [c for c in candidates if c.area_km2 > 1][0]
    assert ogr.CreateGeometryFromWkb(holed.geometry_wkb).GetGeometryCount() == 2  # outer ring + hole
    assert all(c.dl_prob_mean > 0.99 for c in candidates)


def test_candidates__areas_in_metres_on_a_geographic_raster(tmp_path):
    step = 10.0 / (6378137.0 * math.pi / 180.0)  # about 10 m of latitude
    lat0 = 35.0
    geographic = (80.0, step / math.cos(math.radians(lat0)), 0.0, lat0, 0.0, -step)
    raster = rgb(tmp_path, blob_image(), geotransform=geographic, epsg=4326)
    segment(tmp_path, raster, threshold_model(tmp_path / "t.onnx"), tile_px=128)
    candidates, _ = candidates_from_mask(str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif"), 0.03)
    assert sorted(round(c.area_km2, 3) for c in candidates) == pytest.approx([0.18, 1.96], rel=0.01)


def test_candidates__match_the_existing_polygon_they_overlap(tmp_path):
    raster = rgb(tmp_path, blob_image())
    segment(tmp_path, raster, threshold_model(tmp_path / "t.onnx"), tile_px=128)
    existing = "POLYGON((400600 3999400,401000 3999400,401000 3999000,400600 3999000,400600 3999400))"  # over the big blob
    elsewhere = "POLYGON((403500 3996500,403900 3996500,403900 3996100,403500 3996100,403500 3996500))"
    candidates, _ = candidates_from_mask(
        str(tmp_path / "mask.tif"),
        str(tmp_path / "prob.tif"),
        0.03,
        [ogr.CreateGeometryFromWkt(w).ExportToWkb() for w in (existing, elsewhere)],
        ["wkl001", "wkl002"],
        "EPSG:32644",
    )
    matches = {round(c.area_km2, 2): c.match_rg_id for c in candidates}
    assert matches == {1.96: "wkl001", 0.18: None}


def test_metadata__round_trip_and_deepness_keys():
    spec = ModelSpec(
        resolution_cm_per_px=1000.0, input_scaling=InputScaling("reflectance", 10000.0, -1000.0, 0.25), seg_thresh=0.4
    )
    metadata = spec.to_metadata()
    assert {"model_type", "class_names", "resolution", "standardization_mean", "standardization_std", "seg_thresh"} <= set(
        metadata
    )
    assert spec_from_metadata(metadata) == spec
    with pytest.raises(ParameterError, match="needs a 'Segmentor' model"):
        spec_from_metadata({"model_type": '"Detector"'})


def test_candidates__tracing_reports_progress_and_stops_on_cancel(tmp_path):
    raster = rgb(tmp_path, blob_image())
    segment(tmp_path, raster, threshold_model(tmp_path / "t.onnx"), tile_px=128)
    fractions = []
    candidates_from_mask(str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif"), 0.03, on_progress=fractions.append)
    assert fractions and fractions[-1] == pytest.approx(1.0) and all(a <= b + 1e-9 for a, b in zip(fractions, fractions[1:]))
    assert any(0.0 < f <= 0.5 for f in fractions)  # the tracing itself reports
    with pytest.raises(OperationCancelled):
        candidates_from_mask(str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif"), 0.03, is_cancelled=lambda: True)


def test_views__a_pixelwise_model_gives_exactly_its_plain_answer(tmp_path):
    from rockglacier_plugin.core.mapping.segmentation import averaged_probability

    model = load_model(str(threshold_model(tmp_path / "t.onnx")))
    batch = np.random.default_rng(0).uniform(0, 1, (2, 3, 48, 48)).astype(np.float32)
    for views in (4, 8):
        assert np.allclose(averaged_probability(model, batch, views), model.rock_glacier_probability(batch), atol=1e-6)


@pytest.mark.parametrize(
    "views, transforms",
    [
        (4, [lambda a: a[..., ::-1], lambda a: a[..., ::-1, :]]),  # mirrors
        (
            8,
            [
                lambda a: a[..., ::-1],
                lambda a: np.rot90(a, 1, axes=(-2, -1)),
                lambda a: np.rot90(a, 3, axes=(-2, -1)).swapaxes(-1, -2),
            ],
        ),
    ],
)
def test_views__the_average_does_not_depend_on_how_the_image_is_mirrored_or_turned(tmp_path, views, transforms):
    """A model that sees direction answers a mirrored or turned image differently; the average over the views does not."""
    from rockglacier_plugin.core.mapping.segmentation import averaged_probability
    from tests.onnx_builders import asymmetric_model

    model = load_model(str(asymmetric_model(tmp_path / "a.onnx")))
    batch = np.random.default_rng(1).uniform(0, 1, (1, 3, 40, 40)).astype(np.float32)
    averaged = averaged_probability(model, batch, views)
    for transform in transforms:
        image = np.ascontiguousarray(transform(batch))
        plain = model.rock_glacier_probability(image)
        assert np.abs(plain - np.ascontiguousarray(transform(model.rock_glacier_probability(batch)))).max() > 0.3
        assert np.allclose(averaged_probability(model, image, views), transform(averaged), atol=1e-6)


def test_views__segment_raster_uses_them_and_refuses_other_counts(tmp_path):
    from tests.onnx_builders import asymmetric_model

    image = np.random.default_rng(2).uniform(0, 255, (3, 96, 96)).astype(np.float32)
    raster = write_raster(
        tmp_path / "img.tif", image, (400000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0), epsg=32644, dtype=gdal.GDT_Byte
    )
    model = str(asymmetric_model(tmp_path / "a.onnx"))
    maps = {}
    for views in (1, 8):
        segment_raster(
            str(raster),
            model,
            str(tmp_path / f"p{views}.tif"),
            str(tmp_path / f"m{views}.tif"),
            SegmentSettings(tile_px=96, views=views),
        )
        dataset = gdal.Open(str(tmp_path / f"p{views}.tif"))
        maps[views] = dataset.ReadAsArray()
    assert np.abs(maps[8] - maps[1]).max() > 0.1
    with pytest.raises(ParameterError, match="VIEWS=3"):
        segment_raster(
            str(raster), model, str(tmp_path / "p3.tif"), str(tmp_path / "m3.tif"), SegmentSettings(tile_px=96, views=3)
        )


def test_adaptive_views__equal_eight_views_where_they_matter_at_a_fraction_of_the_model_input(tmp_path):
    from rockglacier_plugin.core.mapping.adaptive_views import busy_blocks
    from tests.onnx_builders import directional_edge_model

    image = np.full((3, 512, 512), 20.0, dtype=np.float32)  # flat ground (0 would be no data)
    image[:, 100:140, 300:360] = 255  # one bright block: edges only around it
    raster = write_raster(
        tmp_path / "scene.tif", image, (500000.0, 10.0, 0, 4000000.0, 0, -10.0), epsg=32644, dtype=gdal.GDT_Byte
    )
    model = directional_edge_model(tmp_path / "edge.onnx")
    outputs = {}
    for name, views, adaptive in (("one", 1, False), ("eight", 8, False), ("adaptive", 8, True)):
        run = segment_raster(
            str(raster),
            str(model),
            str(tmp_path / f"{name}_p.tif"),
            str(tmp_path / f"{name}_m.tif"),
            SegmentSettings(tile_px=256, views=views, adaptive_views=adaptive),
        )
        outputs[name] = gdal.Open(str(tmp_path / f"{name}_p.tif")).ReadAsArray()
        if adaptive:
            assert 0 < run.more_views_share < 0.5  # the further views ran on crops around the block only
    matters = np.abs(outputs["one"] - outputs["eight"]) > 0.01
    assert matters.sum() > 100  # the views matter around the block
    np.testing.assert_allclose(outputs["adaptive"][matters], outputs["eight"][matters], atol=1e-6)  # there: the 8-view average
    assert np.abs(outputs["adaptive"] - outputs["eight"]).max() <= 0.01  # elsewhere flat ground, all views near 0
    assert np.array_equal(outputs["adaptive"] >= 0.5, outputs["eight"] >= 0.5)
    first = np.zeros((96, 96), np.float32)
    first[60, 70] = 0.9
    (block,) = busy_blocks(first, context_px=16, multiple=16, cell_px=32)
    assert block.inner == (32, 64, 64, 96) and (block.r1 - block.r0) % 16 == 0 and block.r0 <= 16 and block.c1 == 96


def test_reader__an_error_while_reading_tiles_stops_the_run_with_it_and_no_output(tmp_path, monkeypatch):
    from rockglacier_plugin.core.errors import InputRasterError
    from rockglacier_plugin.core.mapping import tile_io

    raster = write_raster(
        tmp_path / "scene.tif",
        np.full((3, 300, 300), 20.0),
        (500000.0, 10.0, 0, 4000000.0, 0, -10.0),
        epsg=32644,
        dtype=gdal.GDT_Byte,
    )
    model = identity_model(tmp_path / "m.onnx")
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise InputRasterError("the disk went away")
        return original(*args, **kwargs)

    original = tile_io.read_tile
    monkeypatch.setattr(tile_io, "read_tile", failing)
    with pytest.raises(InputRasterError, match="the disk went away"):
        segment_raster(str(raster), str(model), str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), SegmentSettings(tile_px=64))
    assert not (tmp_path / "p.tif").exists() and not list(tmp_path.glob("*partial*"))


def test_fixed_size_model__a_raster_smaller_than_its_input_is_padded_and_cut_back(tmp_path):
    """A Deepness-style model with a fixed 64 px input on a 40 x 30 px raster (a real chip is smaller than a
    512 px model): the input is padded to the model's size, the answer cut back, whatever the precision."""
    from rockglacier_plugin.core.mapping.precision import Precision

    image = np.random.default_rng(4).integers(1, 255, (3, 30, 40)).astype(np.float32)
    raster = write_raster(
        tmp_path / "small.tif", image, (500000.0, 10.0, 0, 4000000.0, 0, -10.0), epsg=32644, dtype=gdal.GDT_Byte
    )
    model = identity_model(tmp_path / "fixed.onnx", fixed_size=64, fixed_batch=1)
    for precision in (Precision.FLOAT32, Precision.AUTO):
        segment_raster(
            str(raster), str(model), str(tmp_path / "p.tif"), str(tmp_path / "m.tif"), SegmentSettings(precision=precision)
        )
        probability = gdal.Open(str(tmp_path / "p.tif")).ReadAsArray()
        np.testing.assert_allclose(probability, image[0] / 255.0, atol=2e-2 if precision == Precision.AUTO else 1e-6)
