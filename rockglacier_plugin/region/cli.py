"""``python -m rockglacier_plugin.region``: map or measure a whole region on a Dask cluster.

    python -m rockglacier_plugin.region map --imagery S2_*.tif --output inventory.gpkg [--model model.onnx] \\
        [--existing inventory.gpkg] [--dem dem.tif] [--min-area-km2 0.03] [--workers N | --scheduler tcp://HOST:8786]
    python -m rockglacier_plugin.region velocity --inventory inventory.gpkg --dem dem.tif --output velocities.gpkg \\
        [--unwrapped a_unw.tif ... --coherence a_cor.tif ... --sensor Sentinel-1] [--hyp3 product.zip ...] \\
        [--los-velocity velocity.h5 ...] [--los los.rdr.geo | --incidence-deg 38.7 --los-azimuth-deg 102] [...]
    python -m rockglacier_plugin.region track --first dem_2012.tif --second dem_2017.tif --kind dem --output points.gpkg \
        [--inventory inventory.gpkg] [--stable stable.gpkg] [--velocity velocity.tif] [--spacing-m 5] [...]

Every option of ``rockglacier:segment``, ``rockglacier:insarvelocity`` and ``rockglacier:featuretracking`` has its
flag here, with the same default: both are built from the core's workflow options (``core.workflows``), and both run the
same pipeline. ``--help`` after ``map`` or ``velocity`` lists them.

With neither ``--workers`` nor ``--scheduler`` a LocalCluster sized to the machine is started (one
worker process per core, one thread each). ``--scheduler`` uses a running cluster (``dask scheduler``
and ``dask worker``, dask-jobqueue, Kubernetes...): every worker must see the same paths (a shared
file system) and import this package. Rerunning the same command skips the tasks already done
(their outputs are in the work folder, ``<output>.work`` by default).

Run it from any folder with a Python that has Dask and sees the plugin: `make setup`'s ``.venv``
does (``.venv/bin/python -m rockglacier_plugin.region``), or put the folder holding
``rockglacier_plugin`` on PYTHONPATH (QGIS's plugins folder where the plugin is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence


def _velocity_signs() -> dict[str, str]:
    """--velocity-sign's words -> the core's sign conventions (their first word: towards, away)."""
    from ..core.insar.velocity_map import AWAY, TOWARDS

    return {sign.split()[0]: sign for sign in (TOWARDS, AWAY)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rockglacier_plugin.region", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    mapping = commands.add_parser("map", help="segment many scenes and merge the candidates into one inventory")
    _map_arguments(mapping)
    velocity = commands.add_parser("velocity", help="velocities of an inventory from many pairs or products")
    _velocity_arguments(velocity)
    track = commands.add_parser("track", help="feature tracking of one large pair of images or DEMs, band by band")
    _track_arguments(track)
    for sub in (mapping, velocity, track):
        cluster = sub.add_mutually_exclusive_group()
        cluster.add_argument("--workers", type=int, default=None, help="LocalCluster with N worker processes")
        cluster.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
        sub.add_argument("--work-dir", default=None, help="per-task outputs (default: <output>.work); kept for resuming")
        sub.add_argument("--no-progress", action="store_true")
    return parser


def _map_arguments(mapping: argparse.ArgumentParser) -> None:
    from ..core.mapping.adaptive_views import VIEW_SYMMETRIES
    from ..core.mapping.onnx_model import Device
    from ..core.mapping.precision import Precision
    from ..core.workflows.mapping import MappingOptions

    defaults = MappingOptions()
    mapping.add_argument(
        "--imagery",
        nargs="+",
        required=True,
        help="scenes, one CRS: 8-bit RGB, L2A stacks, or L2A products (SAFE folders, MTD_MSIL2A.xml, zips, STAC items)",
    )
    mapping.add_argument("--model", default=None, help="ONNX model (default: the model shipped with the plugin)")
    mapping.add_argument("--output", required=True, help="GeoPackage to write (layer rock_glaciers)")
    mapping.add_argument("--existing", default=None, help="existing inventory (match_rg_id; new ids continue after its ids)")
    mapping.add_argument("--dem", default=None, help="DEM for the geomorphic attributes")
    mapping.add_argument(
        "--bands", default=None, help="bands for the model's channels, e.g. 4,3,2 (default: matched by description)"
    )
    mapping.add_argument(
        "--threshold", type=float, default=defaults.threshold, help="probability threshold (default: the model's)"
    )
    mapping.add_argument("--min-area-km2", type=float, default=defaults.min_area_km2)
    mapping.add_argument("--id-prefix", default=defaults.id_prefix)
    mapping.add_argument("--device", choices=[d.value for d in Device], default=defaults.device.value)
    mapping.add_argument(
        "--views",
        type=int,
        choices=sorted(VIEW_SYMMETRIES),
        default=defaults.views,
        help="views of each tile averaged (VIEWS; default: the model's own, adaptively, 1 for a model that states none)",
    )
    mapping.add_argument(
        "--precision",
        choices=[p.value for p in Precision],
        default=defaults.precision.value,
        help="PRECISION: auto (an int8 copy of the model on the CPU where it agrees with float32), float32 or int8",
    )
    mapping.add_argument("--tile-px", type=int, default=defaults.tile_px)
    mapping.add_argument("--overlap-px", type=int, default=defaults.overlap_px)
    mapping.add_argument("--batch-size", type=int, default=defaults.batch_size)
    mapping.add_argument(
        "--l2a-add-offset",
        type=float,
        default=defaults.l2a_add_offset,
        help="DN offset of L2A stacks without metadata (BOA_ADD_OFFSET: -1000 from processing baseline 04.00)",
    )
    mapping.add_argument(
        "--l2a-quantification",
        type=float,
        default=defaults.l2a_quantification,
        help="BOA_QUANTIFICATION_VALUE with --l2a-add-offset (default 10000)",
    )
    mapping.add_argument("--extent", default=None, help="xmin,ymin,xmax,ymax in the scenes' CRS: map only there")
    mapping.add_argument("--mask-layer", default=None, help="polygons (any OGR layer): map only the tiles they touch")
    mapping.add_argument("--block-px", type=int, default=8192, help="scenes larger than this are mapped in blocks, one task each")


def _velocity_arguments(velocity: argparse.ArgumentParser) -> None:
    from ..core.insar.sensors import Sensor
    from ..core.insar.velocity_map import VELOCITY_UNITS
    from ..core.workflows import velocity_options as options

    velocity.add_argument("--inventory", required=True)
    velocity.add_argument("--dem", required=True, help="DEM (metres, or feet with a unit tag)")
    velocity.add_argument("--output", required=True, help="GeoPackage to write (rock_glaciers, velocity_pairs, reference_points)")
    for flag in ("--unwrapped", "--coherence", "--components", "--hyp3", "--los-velocity", "--los-velocity-sigma"):
        velocity.add_argument(flag, nargs="*", default=[])
    velocity.add_argument(
        "--geometry", default=None, help="geometry of the velocity products (MintPy geometryGeo.h5, LiCSAR E raster...)"
    )
    velocity.add_argument(
        "--velocity-unit",
        choices=VELOCITY_UNITS,
        default=None,
        help="unit of GeoTIFF LOS velocities (default: the file's unit tag; a file without one needs it)",
    )
    signs = list(_velocity_signs())
    velocity.add_argument("--velocity-sign", choices=signs, default=signs[0], help="of GeoTIFF LOS velocities")
    velocity.add_argument(
        "--sensor",
        choices=[s.value for s in Sensor],
        default=None,
        help="sensor of the interferograms (default: the wavelength in their metadata, else an error)",
    )
    velocity.add_argument(
        "--reference-date", default="", help="YYYY-MM-DD, when not in the file (one interferogram or velocity file)"
    )
    velocity.add_argument("--secondary-date", default="")
    velocity.add_argument("--los", default=None, help="LOS geometry raster (ISCE2 los.rdr.geo)")
    velocity.add_argument("--left-looking", action="store_true")
    velocity.add_argument("--reference-points", default=None, help="points on stable ground (any OGR layer, rg_id optional)")
    velocity.add_argument("--velocity-los", default=None, help="LOS velocity raster(s) to write (cm/yr; per pair when several)")
    velocity.add_argument("--velocity-downslope", default=None, help="downslope velocity raster(s) to write (cm/yr)")
    numbers = (
        options.PHASE_BAND,
        options.COHERENCE_BAND,
        options.DEM_BAND,
        options.INCIDENCE_DEG,
        options.LOS_AZIMUTH_DEG,
        options.HEADING_DEG,
        options.WAVELENGTH_M,
        *options.SETTINGS_NUMBERS,
    )
    for option in numbers:
        velocity.add_argument(
            option.flag,
            dest=option.dest,
            type=int if option.integer else float,
            default=option.default,
            help=option.label + (f" (default {option.default:g})" if option.default is not None else ""),
        )
    for switch in options.SWITCHES:
        velocity.add_argument(
            switch.flag, dest=switch.dest, action=argparse.BooleanOptionalAction, default=switch.default, help=switch.label
        )


def _track_arguments(track: argparse.ArgumentParser) -> None:
    from ..core.workflows.tracking import ILLUMINATIONS, NUMBERS, TrackingOptions

    defaults = TrackingOptions()
    track.add_argument("--first", required=True, help="raster of the first date (image, hillshade or DEM)")
    track.add_argument("--second", required=True, help="raster of the second date")
    track.add_argument("--date-1", default=None, help="first date YYYY-MM-DD (default: from the file's metadata or name)")
    track.add_argument("--date-2", default=None, help="second date YYYY-MM-DD (default: from the file's metadata or name)")
    track.add_argument("--kind", choices=("image", "dem"), default=defaults.kind, help="images, or DEMs tracked as hillshades")
    track.add_argument(
        "--illumination",
        choices=[str(i) for i in range(len(ILLUMINATIONS))],
        default="0",
        help="DEMs: " + "; ".join(f"{i} = {label}" for i, (label, _) in enumerate(ILLUMINATIONS)),
    )
    track.add_argument("--inventory", default=None, help="landforms: the output gets them with their ft_ velocity fields")
    track.add_argument("--stable", default=None, help="stable ground polygons (default: outside the landforms)")
    track.add_argument("--output", required=True, help="GeoPackage to write (feature_tracking_points, and rock_glaciers)")
    track.add_argument("--velocity", default=None, help="velocity raster to write (rate m/yr, direction deg)")
    track.add_argument("--bands", type=int, default=0, help="tasks (bands of rows of points); default 4 per worker")
    for name, label, option, _, _ in NUMBERS:
        track.add_argument(
            "--" + name.lower().replace("_", "-"),
            dest=option,
            type=float,
            default=getattr(defaults, option),
            help=f"{label} (default {getattr(defaults, option):g})",
        )


def make_client(workers: Optional[int], scheduler: Optional[str]) -> tuple[Any, Optional[Any]]:
    """A Dask client: on a running scheduler, or on a LocalCluster (returned too, to be closed)."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n_workers = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    return Client(cluster), cluster


def _threads_per_task(client: Any) -> int:
    """onnxruntime threads per task: the worker's share of the machine's cores."""
    info = client.scheduler_info().get("workers", {})
    return max(1, (os.cpu_count() or 1) // max(1, len(info))) if info else 0


def _run_map(args: argparse.Namespace, client: Any) -> Any:
    from ..core.mapping.bands import parse_band_list
    from ..core.mapping.onnx_model import SHIPPED_MODELS_DIR, Device, default_model_path
    from ..core.mapping.precision import Precision
    from ..core.workflows.mapping import MappingOptions
    from .workflows import MapRequest, map_region

    model = args.model or default_model_path(SHIPPED_MODELS_DIR, Device(args.device))[0]
    options = MappingOptions(
        bands=tuple(parse_band_list(args.bands)) if args.bands else None,
        threshold=args.threshold,
        min_area_km2=args.min_area_km2,
        id_prefix=args.id_prefix,
        device=Device(args.device),
        views=args.views,
        precision=Precision(args.precision),
        tile_px=args.tile_px,
        overlap_px=args.overlap_px,
        batch_size=args.batch_size,
        l2a_add_offset=args.l2a_add_offset,
        l2a_quantification=args.l2a_quantification,
    )
    request = MapRequest(
        args.imagery,
        model,
        args.output,
        args.work_dir or args.output + ".work",
        options,
        dem=args.dem,
        existing=args.existing,
        extent=_extent(args.extent),
        mask_layer=args.mask_layer,
        block_px=args.block_px,
    )
    return map_region(client, request, threads=_threads_per_task(client), progress=not args.no_progress)


def _extent(text: Optional[str]) -> Optional[tuple[float, float, float, float]]:
    from ..core.errors import ParameterError

    if not text:
        return None
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise ParameterError(f"--extent {text!r}: give xmin,ymin,xmax,ymax in the scenes' CRS.") from exc
    return xmin, ymin, xmax, ymax


def _run_velocity(args: argparse.Namespace, client: Any) -> Any:
    from ..core.workflows import velocity_options as options
    from ..core.workflows.velocity import VelocityInputs, dates_from_text, los_geometry
    from .workflows import VelocityRequest, velocity_region

    reference, secondary = dates_from_text(args.reference_date, args.secondary_date)
    inputs = VelocityInputs(
        unwrapped=tuple(args.unwrapped),
        coherence=tuple(args.coherence),
        components=tuple(args.components),
        hyp3=tuple(args.hyp3),
        los_velocity=tuple(args.los_velocity),
        los_velocity_sigma=tuple(args.los_velocity_sigma),
        product_geometry=args.geometry,
        velocity_unit=args.velocity_unit,
        velocity_sign=_velocity_signs()[args.velocity_sign],
        phase_band=args.phase_band,
        coherence_band=args.coherence_band,
        sensor=args.sensor,
        wavelength_m=args.wavelength_m,
        reference_date=reference,
        secondary_date=secondary,
    )
    geometry, notes = los_geometry(args.los, args.incidence_deg, args.los_azimuth_deg, args.heading_deg, args.left_looking)
    values = {o.name: getattr(args, o.dest) for o in (*options.SETTINGS_NUMBERS, *options.SWITCHES, options.DEM_BAND)}
    request = VelocityRequest(
        args.inventory,
        inputs,
        args.dem,
        args.output,
        args.work_dir or args.output + ".work",
        geometry,
        options.velocity_settings(values),
        args.reference_points,
        args.velocity_los,
        args.velocity_downslope,
    )
    result = velocity_region(client, request, progress=not args.no_progress)
    result.notes[:0] = notes
    return result


def _run_track(args: argparse.Namespace, client: Any) -> Any:
    from ..core.insar.interferogram import parse_date
    from ..core.workflows.tracking import ILLUMINATIONS, NUMBERS, TrackingOptions, tracking_setup
    from .tracking import TrackRequest, track_region

    given = tuple(
        parse_date(text, name) if text else None for text, name in ((args.date_1, "--date-1"), (args.date_2, "--date-2"))
    )
    options = TrackingOptions(
        args.kind, ILLUMINATIONS[int(args.illumination)][1], **{o: getattr(args, o) for _, _, o, _, _ in NUMBERS}
    )
    inputs, settings, notes = tracking_setup(args.first, args.second, given, options)  # type: ignore[arg-type]
    request = TrackRequest(
        inputs,
        settings,
        args.output,
        args.work_dir or args.output + ".work",
        args.inventory,
        args.stable,
        args.velocity,
        args.bands,
    )
    result = track_region(client, request, progress=not args.no_progress)
    result.notes[:0] = notes
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m rockglacier_plugin.region``: parse the command line, start the cluster, run the command; its exit status."""
    from ..core.errors import RockGlacierError

    args = _parser().parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print(
            "The region command needs dask[distributed]: run `make setup`, or pip install \"dask[distributed]\".", file=sys.stderr
        )
        return 2
    client, cluster = make_client(args.workers, args.scheduler)
    try:
        run = {"map": _run_map, "velocity": _run_velocity, "track": _run_track}[args.command]
        result = run(args, client)
    except RockGlacierError as exc:  # the same message as the Processing algorithm, not a traceback
        print(f"Failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a message, not a traceback
        print(f"Failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    _print(result)
    return 1 if result.report.failed else 0


def _print(result: Any) -> None:
    report = result.report
    print(
        f"{result.output}: {result.n_features} feature(s); tasks: {len(report.done) - report.skipped} run, "
        f"{report.skipped} already done, {len(report.failed)} failed; {result.seconds:.1f} s"
        + (f"; {result.area_km2:.0f} km2 ({result.area_km2 / result.seconds:.1f} km2/s)" if result.area_km2 else "")
    )
    for note in dict.fromkeys(result.notes):  # each message once, in order
        print(note)
    for name, error in report.failed:
        print(f"FAILED {name}: {error}", file=sys.stderr)
