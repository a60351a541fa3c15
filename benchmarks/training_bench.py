"""Training steps per second and inference time per 480 x 480 px patch (torch and ONNX) for each
encoder the training package offers, on this machine's CPU (or GPU when there is one)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def run(encoders: tuple[str, ...] = (), batch_size: int = 4, train_px: int = 256, steps: int = 3) -> dict:
    import torch

    from training.config import TrainConfig
    from training.export.onnx_export import export_onnx, seconds_per_patch
    from training.loop.losses import dice_bce as dice_bce_loss
    from training.model.architecture import ENCODERS, build_model
    from training.model.checkpoints import spec_for

    encoders = encoders or ENCODERS
    work = Path(tempfile.mkdtemp(prefix="rockglacier-train-bench-"))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(
        f"\n== training package: DeepLabv3+ per encoder on {device} ({torch.get_num_threads()} threads); "
        f"training batch {batch_size} x {train_px} px, inference one 480 px patch"
    )
    print(f"   {'encoder':28s} {'train steps/s':>14s} {'torch s/patch':>14s} {'ONNX s/patch':>13s} {'ONNX/torch':>11s}")
    results = {}
    for encoder in encoders:
        model = build_model(encoder=encoder, pretrained=False).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        images = torch.randn(batch_size, 3, train_px, train_px, device=device)
        labels = (torch.rand(batch_size, train_px, train_px, device=device) > 0.9).float()
        model.train()
        for step in range(steps + 1):
            if step == 1:
                start = time.perf_counter()
            loss = dice_bce_loss(model(images)[:, 0], labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        steps_per_second = steps / (time.perf_counter() - start)
        model.eval()
        patch = torch.randn(1, 3, 480, 480, device=device)
        with torch.no_grad():
            model(patch)
            start = time.perf_counter()
            for _ in range(3):
                model(patch)
        torch_seconds = (time.perf_counter() - start) / 3
        path = export_onnx(model.cpu(), spec_for(TrainConfig(encoder=encoder)), str(work / f"{encoder}.onnx"))
        onnx_seconds = seconds_per_patch(path, threads=torch.get_num_threads())
        results[encoder] = (steps_per_second, torch_seconds, onnx_seconds)
        print(
            f"   {encoder:28s} {steps_per_second:14.3f} {torch_seconds:14.3f} {onnx_seconds:13.3f} "
            f"{onnx_seconds / torch_seconds:11.2f}"
        )
    return results
