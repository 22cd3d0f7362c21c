"""Every source the code, its messages and the docs cite resolves: a public URL, or a file (and
section) of this repository. docs/sources.md holds the provider facts the code relies on."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bridgectl", "stacks", "components", "twin", "policy", "bench")
SOURCE_IDS = re.compile(r'<a id="([a-z0-9-]+)"></a>')


def _files() -> list[Path]:
    files = [p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py")]
    files += [ROOT / "__main__.py", ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    return [p for p in files if "__pycache__" not in p.parts]


def _headings(doc: Path) -> set[str]:
    return {re.sub(r"^#+\s*", "", line).strip() for line in doc.read_text().splitlines() if line.startswith("#")}


def test_no_citation_of_files_outside_the_repository() -> None:
    """The research notes the design started from are not in the repository: cite docs/sources.md."""
    stale = re.compile(r"\b(aws|azure|equinix|peers|pulumi)\.md\b|shared/reference|/work/")
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in _files()
             for n, line in enumerate(p.read_text().splitlines(), 1) if stale.search(line)]
    assert found == []


def test_sources_entries_cited_exist_and_have_public_pages() -> None:
    sources = (ROOT / "docs" / "sources.md").read_text()
    ids = set(SOURCE_IDS.findall(sources))
    for row in sources.splitlines():
        if row.startswith("| <a id="):
            assert "https://" in row.split("|")[-2], row  # each fact names at least one public page
    cited: set[str] = set()
    for path in _files():
        for match in re.finditer(r"docs/sources\.md#([a-z0-9-]+)((?:,? (?:to |and )?#[a-z0-9-]+)*)", path.read_text()):
            cited.add(match.group(1))
            cited.update(re.findall(r"#([a-z0-9-]+)", match.group(2)))
    assert cited, "nothing cites docs/sources.md"
    assert cited - ids == set()


def test_cited_repository_files_and_sections_exist() -> None:
    """`docs/x.md` exists; `docs/x.md, "Section"` names a heading of it (messages name sections so)."""
    missing = []
    for path in _files():
        text = path.read_text()
        for doc in set(re.findall(r"\bdocs/([a-z0-9-]+\.md)", text)):
            if not (ROOT / "docs" / doc).is_file():
                missing.append(f"{path.relative_to(ROOT)}: docs/{doc}")
        for doc, section in re.findall(r'\bdocs/([a-z0-9-]+\.md),? \\?"([^"\\]+)\\?"', text.replace('"\n', '" ')):
            target = ROOT / "docs" / doc
            name = re.sub(r"\s*\n\s*(#\s*)?", " ", section).strip()  # a title wrapped over two lines
            # a heading may go on in parentheses: "Offline diff (`bridgectl diff`)"
            if target.is_file() and not any(h == name or h.startswith(f"{name} (") for h in _headings(target)):
                missing.append(f'{path.relative_to(ROOT)}: docs/{doc}, "{section}"')
    assert missing == []
