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
        broken = [
            link
            for link in re.findall(r"\]\(([^)#]+)\)", text)
            if not link.startswith("http") and not (page.parent / link).exists()
        ]
        assert broken == [], page.name


def test_readme__model_numbers_are_the_cards():
    from tools.readme_card import BLOCK, readme_line

    block = BLOCK.search(README)
    assert block, "README.md lost its <!-- model-card:facts --> block"
    assert block.group(2) == readme_line(), "run `python -m tools.readme_card` (the card changed)"


def _headings(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.lstrip("#").strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


def test_help_texts__every_section_they_send_users_to_exists_where_they_say():
    """Help strings, the model card and code comments cite documentation as (README, "Section") or
    (docs/page.md, <i>Section</i>): each section is a heading (or a bold item) of that page (the segment help sent users to README
    sections that had moved to docs/)."""
    pattern = re.compile(r"\((README|docs/[\w-]+\.md)[,:]?\s*(?:<i>|\")([^<\"]+)(?:</i>|\")")
    cited = []
    for path in [
        *(ROOT / "rockglacier_plugin").rglob("*.py"),
        *(ROOT / "training").rglob("*.py"),
        ROOT / "rockglacier_plugin" / "models" / "MODEL_CARD.html",
    ]:
        text = path.read_text(encoding="utf-8").replace("\n#", " ").replace("\n", " ")
        cited += [(path.name, page, section) for page, section in pattern.findall(text)]
    assert len(cited) >= 4
    missing = []
    for where, page, section in cited:
        target = ROOT / ("README.md" if page == "README" else page)
        section = re.sub(r"\s+", " ", section).strip().lower()
        text = target.read_text(encoding="utf-8").lower() if target.exists() else ""
        if not any(section in heading.lower() for heading in _headings(target)) and f"**{section}**" not in text:
            missing.append(f"{where}: {page} '{section}'")
    assert missing == []
