"""``python -m rockglacier_plugin.region``: map or measure a whole region on a Dask cluster.

    python -m rockglacier_plugin.region map --imagery S2_*.tif --model model.onnx --output inventory.gpkg \\
        [--dem dem.tif] [--min-area-km2 0.03] [--workers N | --scheduler tcp://HOST:8786] [--work-dir DIR]
    python -m rockglacier_plugin.region velocity --inventory inventory.gpkg --dem dem.tif --output velocities.gpkg \\
        [--unwrapped a_unw.tif ... --coherence a_cor.tif ...] [--hyp3 product.zip ...] [--los-velocity velocity.h5 ...] \\
        [--geometry geometryGeo.h5] [--incidence-deg 38.7 --los-azimuth-deg 102] [--workers N | --scheduler ...]

With neither ``--workers`` nor ``--scheduler`` a LocalCluster sized to the machine is started (one
worker process per core, one thread each). ``--scheduler`` uses a running cluster (``dask scheduler``
and ``dask worker``, dask-jobqueue, Kubernetes...): every worker must see the same paths (a shared
file system). Rerunning the same command skips the tasks already done (their outputs are in the
work folder, ``<output>.work`` by default).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence


def _parser() -> argparse.ArgumentParser:
    from ..core.mapping.polygons import DEFAULT_MIN_AREA_KM2

    parser = argparse.ArgumentParser(prog="python -m rockglacier_plugin.region", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    mapping = commands.add_parser("map", help="segment many scenes and merge the candidates into one inventory")
    mapping.add_argument("--imagery", nargs="+", required=True, help="Sentinel-2 scenes (GeoTIFF, VRT, JP2), one CRS")
    mapping.add_argument("--model", default=None, help="ONNX model (default: the model shipped with the plugin)")
    mapping.add_argument("--output", required=True, help="GeoPackage to write (layer rock_glaciers)")
    mapping.add_argument("--dem", default=None, help="DEM for the geomorphic attributes")
    mapping.add_argument("--min-area-km2", type=float, default=DEFAULT_MIN_AREA_KM2)
    mapping.add_argument("--id-prefix", default="rg")
    mapping.add_argument("--tile-px", type=int, default=None)
    mapping.add_argument("--views", type=int, choices=(1, 4, 8), default=8, help="views of each tile averaged, as VIEWS in the plugin")
    mapping.add_argument("--block-px", type=int, default=8192, help="scenes larger than this are mapped in blocks, one task each")
    mapping.add_argument("--bands", default=None, help="bands for the model's channels, e.g. 4,3,2 (default: matched by description)")
    velocity = commands.add_parser("velocity", help="velocities of an inventory from many pairs or products")
    velocity.add_argument("--inventory", required=True)
    velocity.add_argument("--dem", required=True)
    velocity.add_argument("--output", required=True)
    velocity.add_argument("--unwrapped", nargs="*", default=[])
    velocity.add_argument("--coherence", nargs="*", default=[])
    velocity.add_argument("--sensor", default="Sentinel-1", help="ALOS-1 PALSAR or Sentinel-1 (for --unwrapped)")
    velocity.add_argument("--hyp3", nargs="*", default=[])
    velocity.add_argument("--los-velocity", nargs="*", default=[])
    velocity.add_argument("--geometry", default=None)
    velocity.add_argument("--unit", default="mm/yr", help="unit of GeoTIFF LOS velocities")
    velocity.add_argument("--incidence-deg", type=float, default=None)
    velocity.add_argument("--los-azimuth-deg", type=float, default=None)
    for sub in (mapping, velocity):
        cluster = sub.add_mutually_exclusive_group()
        cluster.add_argument("--workers", type=int, default=None, help="LocalCluster with N worker processes")
        cluster.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
        sub.add_argument("--work-dir", default=None, help="per-task outputs (default: <output>.work); kept for resuming")
        sub.add_argument("--no-progress", action="store_true")
    return parser


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
    from ..core.mapping.onnx_model import default_model_path
    from .workflows import map_region

    model = args.model or default_model_path(os.path.join(os.path.dirname(os.path.dirname(__file__)), "models"))[0]
    segment = {"bands": tuple(parse_band_list(args.bands)) if args.bands else None, "tile_px": args.tile_px,
               "threads": _threads_per_task(client), "views": args.views}
    return map_region(client, args.imagery, model, args.output, args.work_dir or args.output + ".work", min_area_km2=args.min_area_km2,
                      dem=args.dem, id_prefix=args.id_prefix, segment=segment, progress=not args.no_progress,
                      block_px=args.block_px)


def _run_velocity(args: argparse.Namespace, client: Any) -> Any:
    from ..core.insar.landform_velocity import VelocitySettings
    from ..core.insar.los_geometry import LosGeometry
    from .workflows import velocity_region

    if args.unwrapped and len(args.coherence) not in (1, len(args.unwrapped)):
        raise SystemExit("Give one --coherence per --unwrapped (same order), or one for all.")
    pairs = [{"kind": "unwrapped", "path": p, "coherence": args.coherence[i if len(args.coherence) > 1 else 0], "sensor": args.sensor}
             for i, p in enumerate(args.unwrapped)]
    pairs += [{"kind": "hyp3", "path": p} for p in args.hyp3]
    pairs += [{"kind": "velocity", "path": p, "geometry": args.geometry, "unit": args.unit} for p in args.los_velocity]
    if not pairs:
        raise SystemExit("Give --unwrapped (with --coherence), --hyp3 or --los-velocity.")
    geometry = LosGeometry(None, args.incidence_deg, args.los_azimuth_deg)
    return velocity_region(client, args.inventory, pairs, args.dem, args.output, args.work_dir or args.output + ".work",
                           geometry=geometry, settings=VelocitySettings(), progress=not args.no_progress)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("The region command needs dask[distributed]: run `make setup`, or pip install \"dask[distributed]\".", file=sys.stderr)
        return 2
    client, cluster = make_client(args.workers, args.scheduler)
    try:
        result = _run_map(args, client) if args.command == "map" else _run_velocity(args, client)
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
    print(f"{result.output}: {result.n_features} feature(s); tasks: {len(report.done) - report.skipped} run, "
          f"{report.skipped} already done, {len(report.failed)} failed; {result.seconds:.1f} s"
          + (f"; {result.area_km2:.0f} km2 ({result.area_km2 / result.seconds:.1f} km2/s)" if result.area_km2 else ""))
    for note in result.notes:
        print(note)
    for name, error in report.failed:
        print(f"FAILED {name}: {error}", file=sys.stderr)
