"""Training as a template: one ``_step(batch, stage)`` for train and validation, rock-glacier IoU on
the validation split every epoch, the best checkpoint kept, early stop at a target IoU or a
patience, resumable, seeded, a GPU when there is one."""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from rockglacier_plugin.core.mapping.input_scaling import to_uint8_range
from training.config import SELECTION, TrainConfig
from training.data.compose import ChipPool, CompositionSettings, ValidationScene, cells_for, validation_scene
from training.data.datasets import ComposedDataset, SegmentationDataset
from training.data.labels import WEAK_LABEL_BASE
from training.data.samples import load_samples
from training.loop.losses import LOSSES, with_image_level
from training.model.checkpoints import device_for, model_for, spec_for

LOGGER = logging.getLogger(__name__)


#: Share of a weak cell (a chip labelled per chip only) that must be in a sample for its presence
#: loss to count: a cell mostly cropped away or cut by a raster edge may have lost its rock glacier.
WEAK_CELL_MIN_VISIBLE = 0.75


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def recalibrate_batchnorm(model: Any, loader: Any, device: Any, batches: int = 20) -> None:
    """Recompute BatchNorm running statistics from training data with a cumulative average.

    After short training the running statistics lag the weights and eval-mode output can be all
    background; a pass in train mode without gradients fixes that before validation and export.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for index, (images, _) in enumerate(loader):
            if index >= batches:
                break
            model(images.to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def check_config(config: TrainConfig) -> None:
    """A config's choices that only make sense together, checked before any training (a ValueError says what to change)."""
    if config.select_on not in SELECTION or (config.select_on in ("scene", "scene+chips") and not config.scene_validation):
        raise ValueError(
            f"select_on={config.select_on!r}: choose 'chip', 'last', or 'scene' or 'scene+chips' together with "
            "scene_validation=true."
        )
    if config.loss not in LOSSES:
        raise ValueError(f"loss={config.loss!r}: choose one of {', '.join(LOSSES)}.")
    if config.image_level_data and not config.compose:
        raise ValueError(
            "image_level_data needs compose=true: chips labelled per chip only are used as cells of composed canvases."
        )
    if config.weak_positive_share and not config.image_level_data:
        raise ValueError(
            f"weak_positive_share={config.weak_positive_share} needs image_level_data: a folder of chips labelled per chip "
            f"(rock_glacier/, no_rock_glacier/ or names glaciar*/cordillera*)."
        )
    if config.presence_weight < 0 or config.presence_top_px < 1:
        raise ValueError(
            f"presence_weight={config.presence_weight}, presence_top_px={config.presence_top_px}: use a weight >= 0 and at "
            "least 1 px."
        )
    if not 0.0 <= config.ema_decay < 1.0:
        raise ValueError(f"ema_decay={config.ema_decay}: use 0 (off) or a decay below 1, e.g. 0.99.")


class Trainer:
    """Trains, validates and checkpoints a DeepLabv3+ as the config says."""

    def __init__(self, config: TrainConfig):
        import torch

        if config.averaged_from:
            raise ValueError(
                "averaged_from is written by `python -m training average` and describes averaged weights: a training "
                "config must not set it (to fine-tune from averaged weights, set init_checkpoint to them instead)."
            )
        self.config = config
        seed_everything(config.seed)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = device_for(config.device)
        self.spec = spec_for(config)
        samples = load_samples(config)
        self.train_samples = [s for s in samples if s.split == "train"]
        self.validation_samples = [s for s in samples if s.split == "validation"]
        if not self.train_samples:
            raise ValueError(
                f"'{config.data}' gives no training sample ({len(self.validation_samples)} validation): make patches "
                "with a lower VALIDATION_FRACTION (--validation-fraction), or map more rock glaciers apart from each other."
            )
        if not self.validation_samples:  # nothing to select on, and no validation scene to compose
            if config.select_on != "last":
                LOGGER.warning(
                    "'%s' holds no validation patch (summary.json says why): the last epoch is kept (select_on 'last' "
                    "instead of '%s') and there are no validation scores. Make patches with a lower CONTEXT_M so that "
                    "some can be held out.",
                    config.data,
                    config.select_on,
                )
            config = self.config = replace(config, select_on="last", scene_validation=False)
        check_config(config)
        self.model = model_for(config, config.pretrained and not (config.init_checkpoint or config.init_onnx)).to(self.device)
        if config.init_checkpoint:
            state = torch.load(config.init_checkpoint, map_location=self.device, weights_only=False)
            self.model.load_state_dict(state["model"])
        elif config.init_onnx:
            from training.model.onnx_weights import load_onnx_weights

            load_onnx_weights(self.model.cpu(), config.init_onnx, len(config.standardization_mean))
            self.model.to(self.device)
        # The weights validated, selected, saved and exported: the model itself, or with ema_decay an
        # exponential moving average of its weights over training steps (BatchNorm statistics are
        # recomputed for it every epoch by ``recalibrate_batchnorm``).
        self.averaged = self._moving_average() if config.ema_decay else None
        self._pool: Optional[Any] = None
        self._scene: Optional[Any] = None
        self.teacher, self.anchor = self._keep_what_it_knew()
        self.optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(config.epochs, 1))
        self.epoch = 0
        self.best_iou = -1.0
        self.history: list[dict[str, float]] = []
        os.makedirs(config.output, exist_ok=True)
        config.save(os.path.join(config.output, "config.json"))

    def _keep_what_it_knew(self) -> tuple[Optional[Any], Optional[list[tuple[Any, Any]]]]:
        """The fine-tuning regularisers of the config (``freeze_encoder``, ``anchor_weight``, ``distill_weight``):
        a frozen copy of the initial model (the teacher) and the initial value of every trained parameter."""
        import copy

        if self.config.freeze_encoder:
            for parameter in self.model.encoder.parameters():
                parameter.requires_grad_(False)
        teacher = None
        if self.config.distill_weight:
            teacher = copy.deepcopy(self.model).eval()
            for parameter in teacher.parameters():
                parameter.requires_grad_(False)
        anchor = None
        if self.config.anchor_weight:
            anchor = [(p, p.detach().clone()) for p in self.model.parameters() if p.requires_grad]
        return teacher, anchor

    def _regularised(self, loss: Any, images: Any, logits: Any, labels: Any) -> Any:
        """``loss`` plus the L2-SP and distillation terms (``TrainConfig``)."""
        import torch

        if self.anchor is not None:
            change = sum(((p - p0) ** 2).sum() for p, p0 in self.anchor)
            loss = loss + self.config.anchor_weight * change / sum(p0.numel() for _, p0 in self.anchor)
        if self.teacher is not None:
            with torch.no_grad():
                taught = torch.sigmoid(self.teacher(images)[:, 0])
            # every pixel, and those without a label (IGNORE_LABEL, weak cells) count twice: nothing else teaches them
            weight = 1.0 + (labels >= WEAK_LABEL_BASE).to(logits.dtype)
            loss = loss + self.config.distill_weight * torch.nn.functional.binary_cross_entropy_with_logits(
                logits, taught, weight=weight
            )
        return loss

    def _moving_average(self) -> Any:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        return AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema_decay))

    @property
    def evaluated(self) -> Any:
        """The model that is validated and saved as "model" (and so exported)."""
        return self.model if self.averaged is None else self.averaged.module

    # -- data -----------------------------------------------------------------------------
    def _epoch_seed(self) -> int:
        """Seed of this epoch's samples and augmentation (the split keeps ``seed``)."""
        return self.config.seed + self.config.sample_seed_offset + self.epoch

    def _loader(self, stage: str) -> Any:
        import torch

        samples = self.train_samples if stage == "train" else self.validation_samples
        if stage == "train" and self.config.compose:
            dataset = ComposedDataset(
                self.chip_pool(), self.composition(), self.spec, self.config.samples_per_epoch or len(samples), self._epoch_seed()
            )
            return torch.utils.data.DataLoader(dataset, batch_size=self.config.batch_size, shuffle=False, drop_last=True)
        dataset = SegmentationDataset(samples, self.spec, stage == "train", self.config.crop_px, self._epoch_seed())
        if stage != "train":
            # one at a time: validation samples keep their own size (chips and patches differ)
            return torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False)
        hard = set(self._hard_negatives())
        weights = [self.config.hard_negative_weight if s.image_path in hard else 1.0 for s in samples]
        generator = torch.Generator().manual_seed(self._epoch_seed())
        sampler = torch.utils.data.WeightedRandomSampler(weights, num_samples=len(samples), replacement=True, generator=generator)
        return torch.utils.data.DataLoader(
            dataset, batch_size=self.config.batch_size, sampler=sampler, drop_last=len(samples) > self.config.batch_size
        )

    def _hard_negatives(self) -> list[str]:
        if not self.config.hard_negatives or not os.path.exists(self.config.hard_negatives):
            return []
        with open(self.config.hard_negatives, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]

    def composition(self) -> CompositionSettings:
        return CompositionSettings(
            self.config.compose_cells,
            self.config.cell_px,
            self.config.crop_px or 256,
            raster_edge_share=self.config.raster_edge_share,
            colour_jitter=self.config.colour_jitter,
            weak_positive_share=self.config.weak_positive_share,
            other_ranges=tuple(self.config.other_ranges),
        )

    def image_level_samples(self) -> list:
        """The chips of ``image_level_data`` matching ``image_level_include`` (none without it)."""
        if not self.config.image_level_data:
            return []
        from training.evaluation.image_level import labelled_chips

        return labelled_chips(self.config.image_level_data, self.config.image_level_include)

    def chip_pool(self) -> ChipPool:
        if self._pool is None:
            self._pool = ChipPool(
                self.train_samples,
                self.spec.in_channels,
                lambda raw: to_uint8_range(raw, self.spec.input_scaling),
                self._hard_negatives(),
                self.config.hard_negative_weight,
                self.image_level_samples(),
                self.config.weak_positive_share,
            )
        return self._pool

    def validation_scene(self) -> ValidationScene:
        """Validation chips laid edge to edge (fixed seed): the scene the best checkpoint is chosen on."""
        if self._scene is None:
            self._scene = validation_scene(
                self.validation_samples,
                self.spec.in_channels,
                cells_for(len(self.validation_samples)),
                self.config.seed,
                self.config.cell_px,
                lambda raw: to_uint8_range(raw, self.spec.input_scaling),
            )
        return self._scene

    def scene_scores(self) -> dict[str, Any]:
        """Export the current model to ONNX and score the validation scene through the plugin's path."""
        import tempfile

        from training.evaluation.scene_eval import chips_through_plugin, evaluate_scene
        from training.export.onnx_export import export_onnx

        with tempfile.TemporaryDirectory() as work:
            path = export_onnx(self.evaluated, self.spec, os.path.join(work, "model.onnx"))
            scores = evaluate_scene(path, self.validation_scene(), threads=self.config.threads)
            if self.config.select_on == "scene+chips":
                scores["chips_pixel_iou"] = chips_through_plugin(
                    path, self.validation_samples, self.spec, views=1, threads=self.config.threads
                )
            return scores

    # -- the template -----------------------------------------------------------------------
    def _step(self, batch: Any, stage: str) -> dict[str, float]:
        import torch

        images, labels = (t.to(self.device) for t in batch)
        model = self.model if stage == "train" else self.evaluated
        with torch.set_grad_enabled(stage == "train"):
            logits = model(images)[:, 0]
            loss = with_image_level(
                LOSSES[self.config.loss],
                logits,
                labels,
                self.config.presence_weight,
                self.config.presence_top_px,
                int(WEAK_CELL_MIN_VISIBLE * self.config.cell_px**2),
            )
            if stage == "train":
                loss = self._regularised(loss, images, logits, labels)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                if self.averaged is not None:
                    self.averaged.update_parameters(self.model)
        labelled = labels < WEAK_LABEL_BASE
        predicted = (logits.detach() > 0) & labelled
        truth = (labels > 0.5) & labelled
        return {
            "loss": float(loss.detach()),
            "intersection": float((predicted & truth).sum()),
            "union": float((predicted | truth).sum()),
        }

    def _run(self, stage: str, max_steps: Optional[int] = None, progress: Any = None) -> dict[str, float]:
        (self.model if stage == "train" else self.evaluated).train(stage == "train")
        if stage == "train" and self.config.freeze_batchnorm:
            from training.model.onnx_weights import freeze_batchnorm

            freeze_batchnorm(self.model)
        if stage != "train" and not self.validation_samples:
            return {"loss": None, "iou": None, "steps": 0}
        totals = {"loss": 0.0, "intersection": 0.0, "union": 0.0}
        steps = 0
        for batch in self._loader(stage):
            result = self._step(batch, stage)
            for key in totals:
                totals[key] += result[key]
            steps += 1
            if progress is not None:
                progress.set_postfix(loss=f"{totals['loss'] / steps:.3f}")
            if max_steps is not None and steps >= max_steps:
                break
        return {"loss": totals["loss"] / max(steps, 1), "iou": totals["intersection"] / max(totals["union"], 1.0), "steps": steps}

    def fit(self, report: Optional[Any] = None) -> dict[str, Any]:
        """Train until the target IoU, the patience, the epochs or ``max_minutes`` run out; returns the history.
        ``report(fraction, message)`` hears of every epoch (the fraction of the epochs, or of the time budget)."""

        try:
            from tqdm import tqdm
        except ImportError:  # progress bars are a nicety
            tqdm = None
        stale = 0
        remaining = self.config.max_steps
        fit_started = time.perf_counter()
        while self.epoch < self.config.epochs:
            started = time.perf_counter()
            bar = tqdm(total=None, desc=f"epoch {self.epoch + 1}/{self.config.epochs}", leave=False) if tqdm else None
            train = self._run("train", remaining, bar)
            if bar is not None:
                bar.close()
            if remaining is not None:
                remaining -= train["steps"]
            if not self.config.freeze_batchnorm:
                recalibrate_batchnorm(self.evaluated, self._loader("train"), self.device, 6 if self.config.compose else 20)
            validation = self._run("validation")
            self.scheduler.step()
            self.epoch += 1
            record = {
                "epoch": self.epoch,
                "train_loss": train["loss"],
                "train_iou": train["iou"],
                "val_loss": validation["loss"],
                "val_iou": validation["iou"],
            }
            if self.config.scene_validation:
                record.update(self.scene_scores())
            record["seconds"] = time.perf_counter() - started
            self.history.append(record)
            print(_epoch_line(record), flush=True)
            minutes = (time.perf_counter() - fit_started) / 60.0
            if report is not None:
                budget = minutes / self.config.max_minutes if self.config.max_minutes else 0.0
                report(min(1.0, max(self.epoch / max(self.config.epochs, 1), budget)), _epoch_line(record))
            score = SELECTION[self.config.select_on](record)
            if score > self.best_iou:
                self.best_iou, stale = score, 0
                self.save(os.path.join(self.config.output, "best.pt"))
            else:
                stale += 1
            self.save(os.path.join(self.config.output, "last.pt"))
            reached = self.config.select_on != "last" and self.best_iou >= self.config.target_iou
            if reached or stale >= self.config.patience or (remaining is not None and remaining <= 0):
                break
            if self.config.max_minutes is not None and minutes * (1 + 1 / self.epoch) > self.config.max_minutes:
                break  # another epoch would pass the time budget
        return {"best_val_iou": self.best_iou, "epochs": self.epoch, "history": self.history}

    def save(self, path: str) -> None:
        import torch

        averaged = (
            {} if self.averaged is None else {"trained_model": self.model.state_dict(), "averaged": self.averaged.state_dict()}
        )
        torch.save(
            {
                "model": self.evaluated.state_dict(),
                **averaged,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch,
                "best_iou": self.best_iou,
                "history": self.history,
                "config": self.config.__dict__,
            },
            path,
        )

    def resume(self, path: str) -> None:
        import torch

        state = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state.get("trained_model", state["model"]))
        if self.averaged is not None:
            if "averaged" in state:
                self.averaged.load_state_dict(state["averaged"])
            else:  # resuming a run saved without averaging: the average starts from its weights
                self.averaged = self._moving_average()
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.best_iou, self.history = state["epoch"], state["best_iou"], state["history"]


def _score(value: Optional[float], digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _epoch_line(record: dict[str, Any]) -> str:
    """One epoch in words; scores a run could not measure (no prediction, nothing held out) read n/a."""
    text = (
        f"epoch {record['epoch']}: train loss {_score(record['train_loss'])} IoU {_score(record['train_iou'])} | validation loss "
        f"{_score(record['val_loss'])} chip IoU {_score(record['val_iou'])}"
    )
    if "scene_pixel_iou" in record:
        text += (
            f" | scene IoU {_score(record['scene_pixel_iou'])} P/R {_score(record.get('scene_precision'), 2)}/"
            f"{_score(record.get('scene_recall'), 2)} FP on negatives {_score(record.get('scene_false_pixels_on_negatives'), 4)}"
        )
    if "chips_pixel_iou" in record:
        text += f" | chips through the plugin IoU {_score(record['chips_pixel_iou'])}"
    return text + f" ({record['seconds']:.0f} s)"
