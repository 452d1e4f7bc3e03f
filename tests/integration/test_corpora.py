"""Diagrams nobody here wrote (../shared/corpora: the BPMN MIWG reference set and SpiffWorkflow's
own test diagrams): validation never crashes on them, and every refusal is in Chinese and names
what is wrong (issue #16 §1, #12: everything runs in the isolated validator)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugin.engine.validate import validate_xml

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
FILES = sorted(CORPORA.glob("*/*.bpmn")) if CORPORA.is_dir() else []
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.skipif(not FILES, reason="../shared/corpora is not beside the repository")
def test_no_corpus_diagram_crashes_validation(seeded):
    crashes, untranslated = [], []
    for path in FILES:
        report = validate_xml(path.read_bytes(), filename=path.name)
        for problem in report.errors:
            text = problem.message
            if "校验进程出错" in text or "Traceback" in text:
                crashes.append(f"{path.name}: {text[:200]}")
            elif not CJK.search(text.split("（")[0]):
                untranslated.append(f"{path.name}: {text[:200]}")
    assert not crashes, "\n".join(crashes)
    assert not untranslated, "\n".join(untranslated)
