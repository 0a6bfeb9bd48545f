"""Write ``test-durations.json`` (each test module's wall time, the order the root conftest
runs modules in) from a serial run's JUnit XML: ``python -m tests.durations REPORT.xml``.

Run the suite without xdist for it (``pytest -p no:xdist --junitxml=REPORT.xml``): with workers
sharing the cores each module's time says more about its neighbours than about itself.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "test-durations.json"


def module_seconds(report: Path) -> dict[str, float]:
    """Seconds per module path (``tests/test_x.py``), summed over its test cases (setup, call
    and teardown: JUnit's ``time``), rounded to 0.1 s."""
    total: Counter[str] = Counter()
    for case in ET.parse(report).iter("testcase"):
        module = (case.get("classname") or "").replace(".", "/") + ".py"
        while module.count("/") and not (OUT.parent / module).is_file():
            module = module.rsplit("/", 1)[0] + ".py"  # a class: drop its name
        total[module] += float(case.get("time") or 0)
    return {module: round(s, 1) for module, s in sorted(total.items())}


if __name__ == "__main__":
    OUT.write_text(json.dumps(module_seconds(Path(sys.argv[1])), indent=1, sort_keys=True) + "\n")
