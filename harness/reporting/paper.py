"""What the SLAM paper (arXiv 2501.03681) reports per benchmark: its languages, its main table, the titles."""

from __future__ import annotations

from harness.languages import MATH_LANGUAGES, XCSQA_LANGUAGES

BENCHMARK_OF_TASK = {"mgsm": "mgsm", "msvamp": "msvamp", "xcsqa": "xcsqa"}
"""Task name in scores.json -> benchmark of the published baselines (the demo task has none)."""
PAPER_LANGUAGES = {"mgsm": MATH_LANGUAGES, "msvamp": MATH_LANGUAGES, "xcsqa": XCSQA_LANGUAGES}
MAIN_TABLE = {"mgsm": "Table 2", "msvamp": "Table 4", "xcsqa": "Table 10"}
"""The SLAM paper's table of each benchmark whose rows (with the run's) compete for the bold best.
Other published rows sit beside them, marked by their table (RFT: Tables 11/12, another base
model and costs relative to RFT+SLAM) or source (‡: systems read outside the paper), unbolded."""
NEWER_MARK = "‡"
TASK_TITLES = {
    "mgsm": "MGSM (in-domain)",
    "msvamp": "MSVAMP (out-of-domain)",
    "xcsqa": "X-CSQA (dev)",
    "demo": "Demo math problems (this project's own data)",
}
