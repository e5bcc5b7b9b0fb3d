#!/usr/bin/env python3
"""The table of every compile-fail case in docs/compile-time.md, written from the cases themselves
(tests/compile_fail/: each file's opening comment, and the message and names its test expects in
tests/compile_fail/CMakeLists.txt), so that the table cannot drift from what the tests check.

    python3 scripts/compile_fail_table.py          # rewrites the table in docs/compile-time.md
    python3 scripts/compile_fail_table.py --check  # exits 1, saying so, if the table is stale
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
cases_dir = root / "tests" / "compile_fail"
doc = root / "docs" / "compile-time.md"
begin, end = "<!-- compile-fail table: begin -->", "<!-- compile-fail table: end -->"


def plain(pattern):
    """A CMake regex as the text it matches: g++'s "> >" and clang's ">>" both as ">>"."""
    text = pattern.replace("${gt}", ">>").replace(" ?>", ">").replace("\\\\", "\\")
    text = re.sub(r"\(([^()|]*)\|[^()]*\)", r"\1", text)  # (a|b): the first
    text = re.sub(r"\([^()]*\)\?", "", text)  # (optional)?: left out
    text = text.replace(".*", " ... ").replace("\\(", "(").replace("\\)", ")").replace("> ?,", ">,")
    return text


def opening_comment(path):
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    text = re.sub(r"^Misuse: ", "", " ".join(lines)).replace("|", "\\|")
    return text[:1].upper() + text[1:]


def table():
    cmake = (cases_dir / "CMakeLists.txt").read_text()
    rows = ["| case (tests/compile_fail/) | the mistake | the error says | and names |", "|---|---|---|---|"]
    for name, message, names in re.findall(r'metagrad_compile_fail\((\w+)\s+"((?:[^"\\]|\\.)*)"\s+"((?:[^"\\]|\\.)*)"', cmake):
        mistake = opening_comment(cases_dir / f"{name}.cpp")
        rows.append(f"| `{name}.cpp` | {mistake} | \"{plain(message)}\" | `{plain(names)}` |")
    return "\n".join(rows)


def main():
    text = doc.read_text()
    if begin not in text or end not in text:
        sys.exit(f"{doc}: no '{begin}' ... '{end}' markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    updated = head + begin + "\n" + table() + "\n" + end + tail
    if "--check" in sys.argv:
        if updated != text:
            sys.exit(f"{doc}: the compile-fail table is stale; run python3 scripts/compile_fail_table.py")
        print("the compile-fail table matches the tests")
        return
    doc.write_text(updated)


main()
