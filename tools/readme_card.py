"""Write the shipped model's numbers into the README from its card (between <!-- model-card:facts --> markers).

python -m tools.readme_card        (run after `make default-model` rebuilds the card)
"""

from __future__ import annotations

import re
from pathlib import Path

from rockglacier_plugin.core.mapping.card_facts import README_LINE, read_card_facts

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "rockglacier_plugin" / "models" / "model_card.json"
BLOCK = re.compile(r"(<!-- model-card:facts -->\n)(.*?)(\n<!-- /model-card:facts -->)", re.S)


def readme_line() -> str:
    return README_LINE.format_map(read_card_facts(str(CARD)))


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        raise SystemExit("README.md has no <!-- model-card:facts --> block")
    readme.write_text(BLOCK.sub(lambda m: m.group(1) + readme_line() + m.group(3), text), encoding="utf-8")


if __name__ == "__main__":
    main()
