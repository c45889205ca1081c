#!/usr/bin/env python3
"""Checks that every C++ code block of the guide is a copy of an example.

Usage: check_guide.py GUIDE.md EXAMPLES_DIR

Each ```cpp block must begin with "// NAME.cpp:" naming a file in
EXAMPLES_DIR and hold exactly that file's text; every .cpp file there must
appear in the guide once. Exits 1 with a diff when they drifted apart.
"""

import difflib
import pathlib
import re
import sys

BLOCK = re.compile(r"^```cpp\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NAME = re.compile(r"// ([A-Za-z0-9_]+\.cpp):")


def main(guide_path: str, examples_dir: str) -> int:
    guide = pathlib.Path(guide_path).read_text(encoding="utf-8")
    examples = {p.name: p.read_text(encoding="utf-8")
                for p in pathlib.Path(examples_dir).glob("*.cpp")}
    problems = []
    seen = {}
    for number, match in enumerate(BLOCK.finditer(guide), start=1):
        block = match.group(1)
        line = guide.count("\n", 0, match.start()) + 1
        name = NAME.match(block)
        if not name:
            problems.append(f"{guide_path}:{line}: cpp block {number} does not start with "
                            "'// NAME.cpp:' naming an example")
            continue
        name = name.group(1)
        seen[name] = seen.get(name, 0) + 1
        if name not in examples:
            problems.append(f"{guide_path}:{line}: {name} is not a file in {examples_dir}")
            continue
        if block != examples[name]:
            diff = difflib.unified_diff(examples[name].splitlines(), block.splitlines(),
                                        f"{examples_dir}/{name}", f"{guide_path}:{line}",
                                        lineterm="")
            problems.append(f"{guide_path}:{line}: block differs from {name}:\n" +
                            "\n".join(diff))
    for name in sorted(examples):
        if seen.get(name, 0) != 1:
            problems.append(f"{name} appears {seen.get(name, 0)} times in {guide_path}, "
                            "not once")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(examples)} examples match their copies in {guide_path}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
