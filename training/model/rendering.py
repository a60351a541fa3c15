"""The rendering a model's training imagery was made with, written into the model and its card.

``python -m training export`` writes it from the training config (``"rendering": "chile-chips"``) or from the
patches ``rockglacier:trainingpatches`` rendered from L2A reflectance (their ``summary.json``); ``python -m
training rendering`` stamps it onto models exported before (the weights are not touched) and into a model
card. The rendering itself and its sources are in ``rockglacier_plugin/core/mapping/rendering.py``.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any, Optional

from rockglacier_plugin.core.mapping.model_metadata import KEY_PREFIX
from rockglacier_plugin.core.mapping.rendering import Rendering, rendering_from

METADATA_KEY = f"{KEY_PREFIX}rendering"
CARD_MARK = re.compile(r"<p id=\"rendering\">.*?</p>\n?", re.S)


def patches_rendering(folder: str) -> Optional[Rendering]:
    """The rendering ``rockglacier:trainingpatches`` applied to a patch folder (None: patches cut from 8-bit imagery)."""
    path = os.path.join(folder, "summary.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return Rendering.from_metadata(json.load(handle).get("rendering"))


def config_rendering(config: Any) -> Optional[Rendering]:
    """A training config's rendering: its own ``rendering``, else its patches'."""
    return rendering_from(getattr(config, "rendering", None)) or (
        patches_rendering(config.data) if getattr(config, "data", "") else None
    )


def write_metadata(onnx_path: str, values: dict[str, Any]) -> None:
    """Set metadata entries (JSON values) of a model in place; nothing else in the file changes."""
    import onnx

    model = onnx.load(onnx_path)
    entries = {entry.key: entry for entry in model.metadata_props}
    for key, value in values.items():
        text = json.dumps(value)
        if key in entries:
            entries[key].value = text
        else:
            model.metadata_props.add(key=key, value=text)
    onnx.save(model, onnx_path)


def rendering_paragraph(rendering: Optional[Rendering]) -> str:
    """The model card's paragraph on how 8-bit imagery is made from L2A reflectance."""
    if rendering is None:
        return (
            '<p id="rendering"><b>Input rendering:</b> not stated: the model takes 8-bit imagery only; give it imagery rendered '
            "as its training imagery was.</p>\n"
        )
    return (
        f'<p id="rendering"><b>Input rendering</b> (in the model\'s metadata, <code>{METADATA_KEY}</code>): '
        f"{html.escape(rendering.source)}, bands {', '.join(rendering.bands)}, 8-bit = "
        f"<code>{html.escape(rendering.describe())}</code> with rho the surface reflectance "
        "((DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, from the product). <code>rockglacier:segment</code> applies it to "
        "L2A stacks, SAFE folders and STAC items, so the model sees its training imagery's rendering. "
        f"Source: {html.escape(rendering.citation) or 'not recorded'}</p>\n"
    )


def stamp_card(card_path: str, rendering: Optional[Rendering]) -> None:
    """Put the rendering paragraph into a model card (replacing an earlier one, else after the card's heading)."""
    with open(card_path, encoding="utf-8") as handle:
        text = handle.read()
    paragraph = rendering_paragraph(rendering)
    if CARD_MARK.search(text):
        text = CARD_MARK.sub(lambda _: paragraph, text, count=1)
    else:
        heading = text.find("</h3>")
        at = heading + len("</h3>\n") if heading >= 0 else 0
        text = text[:at] + paragraph + text[at:]
    with open(card_path, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(
    onnx_paths: list[str], name: str, card: Optional[str], views: Optional[int] = None, architecture_config: Optional[str] = None
) -> dict[str, Any]:
    """``python -m training rendering``: stamp the named rendering (and the views, and the architecture of a training
    config) onto models exported before, and the rendering paragraph into a card."""
    from training.model.onnx_weights import ARCHITECTURE_KEYS

    rendering = rendering_from(name)
    if rendering is None:
        raise ValueError("give a rendering name, e.g. --name chile-chips")
    values: dict[str, Any] = {METADATA_KEY: rendering.to_metadata()}
    if views is not None:
        values[f"{KEY_PREFIX}views"] = views
    if architecture_config:
        with open(architecture_config, encoding="utf-8") as handle:
            config = json.load(handle)
        values[f"{KEY_PREFIX}architecture"] = {k: config[k] for k in ARCHITECTURE_KEYS if k in config}
    for path in onnx_paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such model")
        write_metadata(path, values)
    if card:
        stamp_card(card, rendering)
    return {"models": onnx_paths, **values, "card": card}
