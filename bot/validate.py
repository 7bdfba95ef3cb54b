"""`rasa data validate`, failing on every warning but one it cannot judge.

Rasa 3.6's validator warns that a response "is not used in any story or rule" when it is
uttered by a form (`utter_ask_<slot>`) or by a custom action. This check accepts that one
warning only for responses it can prove are used that way: a form's required slot, the
response name written in the action server's code, or a response the patient channels
endpoint sends for the coordinator console (`COORDINATOR_RESPONSES` in
bot/channels/patients.py). Every other warning fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule\.")
WARNING = re.compile(r"UserWarning: (.*)")


def responses_used_outside_stories() -> set[str]:
    used: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        forms = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forms") or {}
        for form in forms.values():
            used.update(f"utter_ask_{slot}" for slot in form.get("required_slots") or [])
    for path in (ROOT / "actions").glob("*.py"):
        used.update(re.findall(r"[\"'](utter_\w+)[\"']", path.read_text(encoding="utf-8")))
    used.update(endpoint_responses())
    return used


def endpoint_responses() -> set[str]:
    """The responses the patient channels endpoint renders for the console."""
    source = (ROOT / "bot" / "channels" / "patients.py").read_text(encoding="utf-8")
    listed = re.search(r"COORDINATOR_RESPONSES = \((.*?)\)", source, re.S)
    return set(re.findall(r"[\"'](utter_\w+)[\"']", listed.group(1))) if listed else set()


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "rasa",
        "data",
        "validate",
        "--config",
        "config.yml",
        "--domain",
        "domain",
        "--data",
        "data",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    allowed = responses_used_outside_stories()
    problems = []
    for message in WARNING.findall(output):
        unused = UNUSED.search(message)
        if unused and unused.group(1) in allowed:
            continue
        problems.append(message)
    if result.returncode != 0 and not problems:
        problems.append(f"rasa data validate exited with {result.returncode}")
    for problem in problems:
        print(f"validation: {problem}", file=sys.stderr)
    print(f"rasa data validate: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
