"""Docstrings, comments and docs cite papers by authors, year and equation, never files a user of the
repository does not have: the project workspace's notes (``PAPERS.md``), its ``seeds/`` folder of paper
extractions, or a paper by its seed number ("seed 000")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["rbm_explorer", "apps", "scripts", "docs", "README.md"]
FORBIDDEN = re.compile(r"PAPERS\.md|\bseeds/|\bseeds? 00\d", re.IGNORECASE)
SKIPPED_DIRS = {"__pycache__", ".pytest_cache"}


def _text_files():
    for name in SCANNED:
        top = ROOT / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts):
                continue
            data = path.read_bytes()
            if b"\0" in data:  # binary (pictures, compiled caches)
                continue
            try:
                yield path, data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def test_no_citation_of_files_users_do_not_have():
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in _text_files()
        for number, line in enumerate(text.splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert not hits, "cite the paper (authors, year, equation) instead of:\n" + "\n".join(hits)
