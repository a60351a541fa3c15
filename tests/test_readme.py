"""The README is the user's path: short, every algorithm with its qgis_process line, every link alive, and the
model's numbers read from its card (never typed)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme__is_short_enough_to_read_first():
    assert len(README.splitlines()) <= 300


def test_readme__every_algorithm_of_the_provider_has_its_qgis_process_line():
    from rockglacier_plugin.processing.provider import ALGORITHM_CLASSES

    ids = {cls.ALGORITHM_ID for cls in ALGORITHM_CLASSES}
    assert len(ids) >= 8
    missing = [i for i in sorted(ids) if f"qgis_process run rockglacier:{i} --" not in README]
    assert missing == []


def test_readme__every_relative_link_and_image_exists():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    broken = [link for link in links if not link.startswith("http") and not (ROOT / link).exists()]
    assert broken == []
    for page in (ROOT / "docs").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        broken = [link for link in re.findall(r"\]\(([^)#]+)\)", text) if not link.startswith("http") and not (page.parent / link).exists()]
        assert broken == [], page.name


def test_readme__model_numbers_are_the_cards():
    from tools.readme_card import BLOCK, readme_line

    block = BLOCK.search(README)
    assert block, "README.md lost its <!-- model-card:facts --> block"
    assert block.group(2) == readme_line(), "run `python -m tools.readme_card` (the card changed)"
