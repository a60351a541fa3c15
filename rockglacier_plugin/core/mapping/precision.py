"""float32 or int8 for a run: a static int8 copy of any model on the CPU, made once, cached, and used only
where it agrees with the float model on tiles of the scene being mapped.

* ``auto`` (the default): on the CPU, a model that is not int8 already gets an int8 copy (``int8``),
  calibrated on tiles of the input scene and cached beside the model (or, where that folder is not
  writable, in the user's cache folder), named by the model's SHA-256, so it is made once per model.
  Before each run the copy and the float model segment a few tiles of the scene (one view each); the
  copy is used when its probabilities agree (99th percentile of |difference| <= ``MAX_P99_DIFFERENCE``)
  and its mask agrees (IoU >= ``MIN_MASK_IOU`` where the tiles hold enough mask pixels to judge);
  otherwise float32, with the numbers in the log. On a GPU the float model runs.
  Where the whole-int8 copy disagrees, **mixed precision**: the convolutions whose quantisation adds the most error
  on the check tiles (``int8.convolution_error_added``) stay in float, ``MIXED_ROUNDS`` at a time, until the copy
  agrees and is still faster than float32 (``MAX_TIME_RATIO``); that copy replaces the cached one. Where no round
  agrees, the refusal is **remembered for the model** (``<copy>.refused.json``), so no later run pays for a copy it
  would refuse. Before any copy is made, a mask that turns on probabilities within ``MARGIN_DELTA`` of the
  threshold (a shift of ``MARGIN_DELTA`` alone moves the mask below ``MARGIN_MIN_IOU``) is refused at the cost of
  the float check tiles only: no int8 copy could keep such a mask.
  **The first run of a model costs a float32 run**: where a run of ``MIN_TILES_FOR_COPY`` tiles or more meets a model
  with no copy, it runs float32 and only reads its calibration and check tiles; once it has succeeded, a process of
  its own makes the copy and checks it (``int8_background``, ``int8_prepare``: the same ``measured_copy``), keeping the
  verdict for the scene or the refusal for the model. A smaller run makes no copy. Where the run does not say how
  many tiles it has (``RunScene.tiles`` None) the copy is made in the run, as with PRECISION=int8.
* ``float32``: the model as given. ``int8``: the int8 copy whatever the agreement (reported).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from enum import Enum
from typing import Callable, Optional, Sequence

import numpy as np

from .int8 import (
    is_quantized,
    quantize_int8,
    quantized_convolutions,
    sensitive_convolutions,
    with_activations,
)
from .int8_background import start_preparation
from .int8_cache import (
    int8_cache_path,
    known_refusal,
    known_verdict,
    preparation_log_path,
    preparing_since,
    refusal_path,
    remember_refusal,
    remember_verdict,
    verdicts_path,
)
from .onnx_model import DEFAULT_INT8_NAME, DEFAULT_MODEL_NAME, SHIPPED_MODELS_DIR, SegmentationModel

MAX_P99_DIFFERENCE = 0.05
MIN_MASK_IOU = 0.98
#: Refused before any copy is made: a mask that a probability shift of MARGIN_DELTA (below the error of every int8
#: copy measured on real scenes, p99 0.017-0.385) moves below MARGIN_MIN_IOU, over the pixels read from the raster
#: (``_inside_raster``). Only a mask clearly on its threshold: a small model's copy can be more exact than that shift.
MARGIN_DELTA = 0.005
MARGIN_MIN_IOU = 0.9
#: Mixed precision: how many of the most error-adding convolutions stay in float in each round (cumulative).
MIXED_ROUNDS = (4, 12, 24)
#: A mixed round that closes less than this share of the gap between the copy's p99 difference and MAX_P99_DIFFERENCE
#: stops the search: the error is spread over the network, not in a few convolutions (each round costs a copy).
MIN_ROUND_GAIN = 0.25
#: An int8 copy must run the check tiles in at most this share of the float model's time, or it brings nothing.
MAX_TIME_RATIO = 0.9
#: ... judged only where the float model took at least this long on the check tiles (shorter times are noise).
MIN_TIMED_SECONDS = 1.0
#: Fewer mask pixels than this over the check tiles (float or int8): the mask IoU is not judged (p99 decides).
MIN_MASK_PIXELS = 500
CALIBRATION_TILES = 6
CHECK_TILES = 4
#: A run of fewer tiles makes no int8 copy (it runs float32 and reads no check tile): making a copy costs about as
#: much as 16 tiles of a ResNet34 at 512 px (13-15 s on 2 cores), so a smaller run could not repay it.
MIN_TILES_FOR_COPY = 16
#: Calibration inputs of dynamic-size models are cut to this size (activations of every tensor are kept
#: in memory while calibrating: 6 inputs of 512 px of a ResNet34 DeepLabv3+ took 3.4 GB).
CALIBRATION_PX = 512


class Precision(str, Enum):
    """PRECISION: auto (int8 on the CPU where it agrees with float32), float32 or int8."""

    AUTO = "auto"
    FLOAT32 = "float32"
    INT8 = "int8"


@dataclass(frozen=True)
class Agreement:
    """How an int8 copy's probabilities agree with float32's on the calibration tiles."""

    p99_difference: float
    max_difference: float
    mask_iou: Optional[float]  # None: too few mask pixels to judge
    mask_pixels: int
    tiles: int
    time_ratio: Optional[float] = None  # the copy's time on the check tiles over float32's (None: not timed)

    @property
    def passes(self) -> bool:
        """Whether the agreement is close enough, and the copy fast enough, for the int8 copy to be used."""
        agrees = self.p99_difference <= MAX_P99_DIFFERENCE and (self.mask_iou is None or self.mask_iou >= MIN_MASK_IOU)
        return agrees and (self.time_ratio is None or self.time_ratio <= MAX_TIME_RATIO)

    def describe(self) -> str:
        """The agreement's numbers for the log."""
        mask = (
            f"mask IoU {self.mask_iou:.3f}"
            if self.mask_iou is not None
            else f"mask IoU not judged ({self.mask_pixels} mask px < {MIN_MASK_PIXELS})"
        )
        speed = f"; {self.time_ratio:.2f} x float32's time (<= {MAX_TIME_RATIO:g} needed)" if self.time_ratio is not None else ""
        return (
            f"on {self.tiles} tile(s) of this scene: probability |difference| 99th percentile {self.p99_difference:.3f} "
            f"(<= {MAX_P99_DIFFERENCE:g} needed), largest {self.max_difference:.3f}; {mask} (>= {MIN_MASK_IOU:g} needed)"
            f"{speed}"
        )


@dataclass(frozen=True)
class RunScene:
    """What ``choose_precision`` knows of the run: the scene's key (a check on the same scene is reused) and how many
    tiles it runs (None: not known; a small run makes no copy, ``MIN_TILES_FOR_COPY``)."""

    key: Optional[str] = None
    tiles: Optional[int] = None


@dataclass
class PrecisionChoice:
    """The precision chosen for a run: the model to run, its path, and why."""

    model: SegmentationModel
    path: str
    precision: str  # "float32" or "int8"
    note: str
    agreement: Optional[Agreement] = None
    #: Work to start once the run has succeeded (the background preparation of an int8 copy); returns a log line.
    after_run: Optional[Callable[[], str]] = None


def agreement(float_probability: np.ndarray, int8_probability: np.ndarray, threshold: float) -> Agreement:
    """How far the int8 copy's probabilities and mask are from float32's over the same tiles.

    >>> a = np.array([[0.1, 0.9], [0.6, 0.2]]); agreement(a, a + 0.01, 0.5).p99_difference < 0.011
    True
    """
    difference = np.abs(float_probability.astype(np.float64) - int8_probability.astype(np.float64))
    float_mask, int8_mask = float_probability >= threshold, int8_probability >= threshold
    union = int((float_mask | int8_mask).sum())
    iou = float((float_mask & int8_mask).sum() / union) if union >= MIN_MASK_PIXELS else None
    return Agreement(float(np.quantile(difference, 0.99)), float(difference.max()), iou, union, 0)


def margin_iou(float_probability: np.ndarray, threshold: float, delta: float = MARGIN_DELTA) -> Optional[float]:
    """The smaller IoU of the mask with the masks of probabilities shifted by +-``delta``: how much of the mask lies
    within ``delta`` of the threshold. None where the mask is too small to judge (``MIN_MASK_PIXELS``).

    >>> margin_iou(np.full(1000, 0.9), 0.5), margin_iou(np.where(np.arange(1000) < 600, 0.503, 0.1), 0.5)
    (1.0, 0.0)
    """
    mask = float_probability >= threshold
    ious = []
    for shifted in (float_probability + delta >= threshold, float_probability - delta >= threshold):
        union = int((mask | shifted).sum())
        if union < MIN_MASK_PIXELS:
            return None
        ious.append(float((mask & shifted).sum() / union))
    return min(ious)


def _inside_raster(inputs: Sequence[np.ndarray], size: int) -> np.ndarray:
    """The pixels of ``_probabilities``' output read from the raster: not the neutral input (0 in every channel after
    standardising) given beyond its edges, where a weak model sits near its threshold. All pixels when the model's
    output is not the size of its input."""
    inside = np.concatenate([np.any(x != 0, axis=0).ravel() for x in inputs])
    return inside if inside.size == size else np.ones(size, dtype=bool)


def _quantization_missing() -> Optional[str]:
    try:
        import onnx  # noqa: F401
        import onnxruntime.quantization  # noqa: F401
    except ImportError as exc:
        return (
            f"int8 needs the 'onnx' package beside onnxruntime ({exc}): install it in QGIS's Python "
            "(python -m pip install onnx; `make setup` does) to get the int8 speed-up"
        )
    return None


def _cropped(inputs: Sequence[np.ndarray], model: SegmentationModel, multiple: int) -> list[np.ndarray]:
    if model.fixed_size_px is not None:
        return list(inputs)
    size = max(multiple, CALIBRATION_PX // multiple * multiple)
    return [np.ascontiguousarray(x[:, :size, :size]) for x in inputs]


def make_int8_copy(
    model: SegmentationModel,
    model_path: str,
    calibration: Sequence[np.ndarray],
    log: Callable[[str], None],
    keep_float: Optional[Sequence[str]] = None,
) -> str:
    """The cached int8 copy of the model, made now from ``calibration`` inputs if it is not there yet (``keep_float``:
    convolutions left in float, besides the first and last, for a mixed copy that replaces the cached one)."""
    target = int8_cache_path(model_path)
    if os.path.isfile(target) and keep_float is None:
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    started = time.perf_counter()
    handle, partial = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(target))
    os.close(handle)
    try:
        kept = None if keep_float is None else [*sensitive_convolutions(model_path), *with_activations(model_path, keep_float)]
        cropped = _cropped(calibration, model, model.spec.size_multiple_px)
        quantize_int8(model_path, partial, cropped, keep_float=kept, input_name=model.input_name)
        os.replace(partial, target)
        if os.path.exists(verdicts_path(target)):
            os.remove(verdicts_path(target))  # the verdicts were the previous copy's
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    mixed = f" with {len(keep_float)} more convolution(s) in float" if keep_float else ""
    log(
        f"int8 copy of the model{mixed} made in {time.perf_counter() - started:.0f} s from {len(calibration)} tile(s) of this "
        f"scene, cached at {target} (made once per model: its name holds the model's SHA-256)."
    )
    return target


def _probabilities(model: SegmentationModel, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """One view of each input, flattened and joined (inputs may differ in size), and the seconds it took after one
    warm-up input (a session's first run sets up its kernels)."""
    model.rock_glacier_probability(inputs[0][None])
    started = time.perf_counter()
    found = np.concatenate([model.rock_glacier_probability(x[None]).ravel() for x in inputs])
    return found, time.perf_counter() - started


def _shipped_int8(model_path: str) -> Optional[str]:
    """The shipped int8 copy when ``model_path`` is the shipped float model and the copy is shipped."""
    float_path = os.path.join(SHIPPED_MODELS_DIR, DEFAULT_MODEL_NAME)
    int8_path = os.path.join(SHIPPED_MODELS_DIR, DEFAULT_INT8_NAME)
    if os.path.isfile(float_path) and os.path.isfile(int8_path) and os.path.samefile(model_path, float_path):
        return int8_path
    return None


def _float(model: SegmentationModel, model_path: str, why: str) -> PrecisionChoice:
    return PrecisionChoice(model, model_path, "float32", f"float32: {why}.")


def _check(
    int8_model: SegmentationModel, check: Sequence[np.ndarray], float_check: tuple[np.ndarray, float], threshold: float
) -> Agreement:
    """The agreement of ``int8_model`` with the float model's ``float_check`` (probabilities, seconds) on ``check``."""
    int8_probability, int8_seconds = _probabilities(int8_model, check)
    found = agreement(float_check[0], int8_probability, threshold)
    timed = float_check[1] >= MIN_TIMED_SECONDS
    return replace(found, tiles=len(check), time_ratio=int8_seconds / float_check[1] if timed else None)


def mixed_precision(
    model: SegmentationModel,
    model_path: str,
    inputs: tuple[Sequence[np.ndarray], Sequence[np.ndarray]],
    float_check: tuple[np.ndarray, float],
    threshold: float,
    hooks: tuple[Callable[[str], SegmentationModel], Callable[[str], None]],
    before: Agreement,
) -> Optional[PrecisionChoice]:
    """The cached whole-int8 copy disagrees: keep the convolutions whose quantisation adds the most error in float,
    ``MIXED_ROUNDS`` at a time, until a copy agrees (it then replaces the cached one). ``inputs``: (calibration, check);
    ``hooks``: (load, log); ``before``: the whole copy's agreement. None when no round agrees."""
    from .int8 import convolution_error_added

    (calibration, check), (load, log) = inputs, hooks
    whole = int8_cache_path(model_path)
    if before.time_ratio is not None and before.time_ratio > MAX_TIME_RATIO:
        log(f"int8 copy {before.time_ratio:.2f} x float32's time: keeping convolutions in float can only make it slower.")
        return None
    probe = _cropped(check[:2], model, model.spec.size_multiple_px)
    ranked = [name for name, error in convolution_error_added(model_path, whole, probe, model.input_name) if error > 0]
    shutil.copyfile(whole, whole + ".whole")  # restored when no round agrees: PRECISION=int8 then gets the whole copy
    choice = None
    try:
        for count in MIXED_ROUNDS:
            kept = ranked[:count]
            path = make_int8_copy(model, model_path, calibration, log, keep_float=kept)
            if quantized_convolutions(path) == 0:
                log(f"int8 with {len(kept)} more convolution(s) in float: no convolution is left in int8.")
                break
            copy = load(path)
            result = _check(copy, check, float_check, threshold)
            shown = ", ".join(kept[:3]) + (", ..." if len(kept) > 3 else "")
            verdict = "agrees" if result.passes else "does not agree"
            log(f"int8 with {len(kept)} more convolution(s) in float ({shown}): {verdict} {result.describe()}.")
            if result.passes:
                note = (
                    f"int8 copy, {len(kept)} convolution(s) kept in float (mixed precision): agrees with float32 "
                    f"{result.describe()}."
                )
                choice = PrecisionChoice(copy, path, "int8", note, result)
                return choice
            if len(kept) < count:
                break  # every convolution that adds error is in float already
            gap = before.p99_difference - MAX_P99_DIFFERENCE
            if gap > 0 and (before.p99_difference - result.p99_difference) < MIN_ROUND_GAIN * gap:
                log(
                    f"int8: {len(kept)} convolution(s) in float closed less than {MIN_ROUND_GAIN:.0%} of the way to agreement "
                    "(the error is spread over the network); no further round."
                )
                break
            before = result
        return None
    finally:
        if choice is None:
            os.replace(whole + ".whole", whole)
        else:
            os.remove(whole + ".whole")


def _settled_without_tiles(
    model: SegmentationModel, model_path: str, precision: Precision, load: Callable[[str], SegmentationModel]
) -> Optional[PrecisionChoice]:
    """The choices made without reading a tile: PRECISION=float32, an int8 model, a GPU, the shipped copy, no onnx
    package, a refusal remembered for the model. None: the tiles decide."""
    if precision == Precision.FLOAT32:
        return _float(model, model_path, "PRECISION=float32")
    if is_quantized(model_path):
        return PrecisionChoice(model, model_path, "int8", "int8: the model is an int8 model already.")
    if model.provider != "CPUExecutionProvider" and precision == Precision.AUTO:
        return _float(model, model_path, f"on {model.provider} the float model runs (int8 QDQ is a CPU speed-up)")
    shipped = _shipped_int8(model_path)
    if shipped:
        return PrecisionChoice(
            load(shipped),
            shipped,
            "int8",
            "int8: the shipped model's own int8 copy (checked against float32 "
            "on the validation scene when it was made: see the model card).",
        )
    missing = _quantization_missing()
    if missing:
        return _float(model, model_path, missing)
    refused = known_refusal(model_path) if precision == Precision.AUTO else None
    if refused:
        return _float(
            model,
            model_path,
            f"int8 was refused for this model before ({refused}); delete "
            f"{refusal_path(model_path)} to try again, or set PRECISION=int8",
        )
    return None


def choose_precision(
    model: SegmentationModel,
    model_path: str,
    precision: Precision,
    sample_inputs: Callable[[int, int], list],
    threshold: float,
    load: Callable[[str], SegmentationModel],
    log: Callable[[str], None],
    scene: RunScene = RunScene(),
) -> PrecisionChoice:
    """The model to run: float32 or its int8 copy (see the module's rules). ``sample_inputs(count, seed)``
    gives model inputs read from the scene; ``load`` opens an ONNX file with the run's device and threads;
    ``scene`` names the scene (a run on a scene already checked reuses that check's numbers) and its tile count."""
    precision = Precision(precision)
    settled = _settled_without_tiles(model, model_path, precision, load)
    if settled is not None:
        return settled
    cached = int8_cache_path(model_path)
    fresh = not os.path.isfile(cached)  # no copy yet: it is made now, or after the run in the background
    known = None if fresh else known_verdict(cached, scene.key)
    if known is not None:
        return _verdict(model, model_path, (load(cached), cached), Agreement(**known), precision)
    if fresh and precision == Precision.AUTO and scene.tiles is not None:
        return _copy_made_after_the_run(model, model_path, sample_inputs, threshold, scene)
    return measured_copy(
        model,
        model_path,
        (lambda: sample_inputs(CALIBRATION_TILES, 0) if fresh else [], sample_inputs(CHECK_TILES, 1)),
        threshold,
        (load, log),
        (precision, scene.key),
    )


def _copy_made_after_the_run(
    model: SegmentationModel, model_path: str, sample_inputs: Callable[[int, int], list], threshold: float, scene: RunScene
) -> PrecisionChoice:
    """A model met for the first time (auto, no copy yet): this run is float32, and reads no tile through the model.
    A run of ``MIN_TILES_FOR_COPY`` tiles or more reads the calibration and check tiles and, once it has succeeded,
    starts a background process that makes the copy, checks it and keeps the verdict (``int8_background``)."""
    assert scene.tiles is not None
    if scene.tiles < MIN_TILES_FOR_COPY:
        return _float(
            model,
            model_path,
            f"a run of {scene.tiles} tile(s) is too short to repay making an int8 copy of this model (the copy is "
            f"made, once, after a run of at least {MIN_TILES_FOR_COPY} tiles)",
        )
    since = preparing_since(model_path)
    if since is not None:
        return _float(
            model,
            model_path,
            f"an int8 copy of this model is being made in a background process (started "
            f"{time.strftime('%H:%M', time.localtime(since))}; its log: {preparation_log_path(model_path)}); "
            "later runs use it where it agrees",
        )
    calibration, check = sample_inputs(CALIBRATION_TILES, 0), sample_inputs(CHECK_TILES, 1)
    return PrecisionChoice(
        model,
        model_path,
        "float32",
        "float32: this model has no int8 copy yet; it is made and checked against float32 after this run, in a "
        "background process, so this run costs a float32 run; later runs use the copy where it agrees.",
        after_run=lambda: start_preparation(model_path, (calibration, check), threshold, scene.key),
    )


def measured_copy(
    model: SegmentationModel,
    model_path: str,
    inputs: tuple[Callable[[], Sequence[np.ndarray]], Sequence[np.ndarray]],
    threshold: float,
    hooks: tuple[Callable[[str], SegmentationModel], Callable[[str], None]],
    asked: tuple[Precision, Optional[str]],
) -> PrecisionChoice:
    """The int8 copy (made now if there is none) checked against the float model on the check tiles, mixed where the
    whole copy disagrees, and the verdict kept for the scene (or the refusal for the model). ``inputs``: (a function
    giving the calibration tiles, read only when a copy is made; the check tiles); ``hooks``: (load, log); ``asked``:
    (the precision asked for, the scene's key). Used in the run (PRECISION=int8, a cached copy on a new scene) and by
    the background process (``int8_background``)."""
    (calibration_tiles, check), (load, log), (precision, scene_key) = inputs, hooks, asked
    fresh = not os.path.isfile(int8_cache_path(model_path))
    float_check = _probabilities(model, check)
    margin = margin_iou(float_check[0][_inside_raster(check, float_check[0].size)], threshold) if fresh else None
    if precision == Precision.AUTO and margin is not None and margin < MARGIN_MIN_IOU:
        return _float(
            model,
            model_path,
            f"on {len(check)} tile(s) of this scene the mask turns on probabilities within "
            f"{MARGIN_DELTA:g} of the threshold {threshold:g} (a shift of {MARGIN_DELTA:g} alone "
            f"moves it to IoU {margin:.3f} < {MARGIN_MIN_IOU:g}): no int8 copy could keep it, so "
            "none was made",
        )
    calibration = calibration_tiles() if fresh else []  # a cached copy needs no calibration tiles
    try:
        int8_path = make_int8_copy(model, model_path, calibration, log)
        int8_model = load(int8_path)
        result = _check(int8_model, check, float_check, threshold)
        if not result.passes and precision == Precision.AUTO and fresh:
            mixed = mixed_precision(model, model_path, (calibration, check), float_check, threshold, (load, log), result)
            if mixed is not None and mixed.agreement is not None:
                remember_verdict(mixed.path, scene_key, asdict(mixed.agreement))
                return mixed
            remember_refusal(model_path, f"no int8 copy, mixed precision included, agreed: whole int8 {result.describe()}")
            return _verdict(model, model_path, (int8_model, int8_path), result, precision)
    except Exception as exc:  # onnxruntime's quantiser raises many kinds; the float model still runs
        return _float(model, model_path, f"no int8 copy could be made ({str(exc).splitlines()[0][:200]})")
    remember_verdict(int8_path, scene_key, asdict(result))
    return _verdict(model, model_path, (int8_model, int8_path), result, precision)


def _verdict(
    model: SegmentationModel, model_path: str, copy: tuple[SegmentationModel, str], result: Agreement, precision: Precision
) -> PrecisionChoice:
    """int8 where the copy agrees (or PRECISION=int8 says so), float32 otherwise, with the numbers."""
    int8_model, int8_path = copy
    if result.passes or precision == Precision.INT8:
        forced = "" if result.passes else " (PRECISION=int8: used although it does not agree)"
        return PrecisionChoice(
            int8_model, int8_path, "int8", f"int8 copy{forced}: agrees with float32 {result.describe()}.", result
        )
    return PrecisionChoice(
        model,
        model_path,
        "float32",
        f"float32: the int8 copy does not agree with it {result.describe()}; set PRECISION=int8 to use it anyway.",
        result,
    )
