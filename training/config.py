"""Training configuration: one JSON file in, the same file saved beside the checkpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional


@dataclass
class TrainConfig:
    data: str = ""  # a patch folder (prepare) or a chip folder
    data_format: str = "auto"  # "patches", "chips" or "auto"
    output: str = "runs/default"
    arch: str = "deeplabv3plus"
    encoder: str = "tu-tf_efficientnet_lite0"
    pretrained: bool = True
    input_scaling: dict = field(default_factory=lambda: {"kind": "uint8"})
    # How the 8-bit training imagery was made from L2A reflectance (core/mapping/rendering.py): a name ("chile-chips")
    # or its fields; None: patches from rockglacier:trainingpatches say theirs, else the model takes 8-bit imagery only
    rendering: Optional[Any] = None
    standardization_mean: list = field(default_factory=lambda: [0.485, 0.456, 0.406])
    standardization_std: list = field(default_factory=lambda: [0.229, 0.224, 0.225])
    resolution_cm_per_px: Optional[float] = 1000.0
    crop_px: Optional[int] = None  # random crops of this size (of composed canvases when compose is on)
    compose: bool = False  # train on canvases composed of several chips (see training/compose.py)
    compose_cells: int = 3  # canvas of compose_cells x compose_cells chips
    cell_px: int = 128  # a canvas cell (a chip; patches give a random crop of this size)
    raster_edge_share: float = 0.0  # share of composed samples cut by a raster edge (compose.raster_window)
    colour_jitter: float = 0.0  # per-cell band gain/offset jitter of composed canvases (augment.colour_jitter); 0 = off
    other_ranges: list = field(default_factory=list)  # per-cell "pixel_size", "haze", "snow", "shadow" (augment.OTHER_RANGES)
    samples_per_epoch: int = 0  # composed samples per epoch (0 = the number of training chips)
    image_pooling: str = "global"  # ASPP image pooling: global, window (= crop_px) or none
    upsampling: str = "half_pixel"  # bilinear upsampling: half_pixel or align_corners (training/model.py UPSAMPLING)
    receptive_field: str = "wide"  # wide (the paper's ASPP 6/12/18) or compact (training/model.py RECEPTIVE_FIELDS)
    init_checkpoint: Optional[str] = None  # start from this checkpoint's weights (fine-tuning; new optimizer and schedule)
    init_onnx: Optional[str] = None  # ...or from an exported model's weights (training/onnx_weights.py; BatchNorm folded)
    freeze_batchnorm: bool = False  # keep BatchNorm as loaded (needed from init_onnx, usual for small-batch fine-tuning)
    max_minutes: Optional[float] = None  # stop at the end of the epoch that passes this many minutes of training
    # Fine-tuning on a few landforms forgets what the model knew (``train.Trainer``): keep the encoder as loaded,
    # pull the weights towards the initial ones (L2-SP, Li et al. 2018: anchor_weight x mean squared change), and/or
    # keep the initial model's probabilities on pixels without a label and on a share of every sample
    # (distillation, "learning without forgetting", Li & Hoiem 2017: distill_weight x BCE to its probabilities).
    freeze_encoder: bool = False
    anchor_weight: float = 0.0
    distill_weight: float = 0.0
    scene_validation: bool = False  # score composed validation scenes through the plugin each epoch
    select_on: str = (
        "chip"  # best checkpoint by "chip" IoU, "scene" IoU or "scene+chips" (mean of scene and chips through the plugin)
    )
    inference_margin_px: int = 32  # context the plugin reads around each tile (>= the receptive field for exact answers)
    inference_tile_px: int = 1536  # the tile size written into the exported model (rockglacier:segment's default)
    inference_views: int = 1  # views of each tile the exported model asks rockglacier:segment to average by default (VIEWS)
    batch_size: int = 16
    epochs: int = 40
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    loss: str = "dice_bce"  # training/losses.py LOSSES: dice_bce, or dice_bce+lovasz (adds the Lovász hinge, an IoU surrogate)
    ema_decay: float = 0.0  # > 0: validate, select and save an exponential moving average of the weights (per step)
    target_iou: float = 0.80  # the paper's validation IoU
    patience: int = 10
    validation_fraction: float = 0.1
    image_level_data: Optional[str] = (
        None  # chips labelled per chip only (training/image_level.py): negatives join the pool, positives are weak
    )
    image_level_include: Optional[list] = (
        None  # fnmatch patterns (relative paths) of image_level_data to train on; the rest stays held out
    )
    weak_positive_share: float = 0.0  # chance that a positive canvas cell holds a weak positive (image_level_data)
    presence_weight: float = 0.5  # weight of the presence loss of weak cells (losses.with_image_level)
    presence_top_px: int = 300  # pixels of a weak cell asked to be rock glacier: the inventory's 0.03 km2 minimum at 10 m
    averaged_from: Optional[list] = (
        None  # set by `python -m training average` (training/soup.py): the checkpoints and weights averaged
    )
    hard_negatives: Optional[str] = None  # file listing negative samples to oversample (mine-negatives)
    hard_negative_weight: float = 3.0
    seed: int = 0
    sample_seed_offset: int = 0  # added to each epoch's sampling seed: a fine-tuning stage sees new canvases, same split
    device: str = "auto"
    max_steps: Optional[int] = None  # stop after this many steps (tests, quick checks)
    threads: int = 0

    @classmethod
    def load(cls, path: str, **overrides: Any) -> "TrainConfig":
        with open(path, encoding="utf-8") as handle:
            values = json.load(handle)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown keys in {path}: {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}.")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("data") is not None and "data_format" not in overrides:
            values["data_format"] = "auto"  # --data names another folder: patches.csv says it is a patch folder, else chips
        return cls(**values)

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)


#: How the best checkpoint is chosen (config ``select_on``) from an epoch's record: the bare model's
#: IoU over validation chips, the validation scene through the plugin's path, or the mean of that
#: and of every validation chip run alone through the plugin's path (what a user segmenting a clip gets).
SELECTION = {
    "chip": lambda record: record["val_iou"],
    "scene": lambda record: record["scene_pixel_iou"],
    "scene+chips": lambda record: 0.5 * (record["scene_pixel_iou"] + record["chips_pixel_iou"]),
    "last": lambda record: record["epoch"],  # no validation data (a fine-tuning with nothing held out): the last epoch
}
