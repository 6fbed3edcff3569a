"""README.md and docs/*.md point at what exists: every relative link resolves (the file, and its #anchor
as GitHub makes it from the heading), and every `python3 tasks.py TASK ...` they name is a task whose
`--help` works, with the options given after it among those its help lists.

The help is asked of the same invoke Program and task collection the CLI runs, in this process: one
interpreter for every task instead of one started per task."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

import tasks
from localenv.devhost_process import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python3 tasks\.py((?:[ \t]+[^\s`#|&;)]+)*)")
PASSED_THROUGH = {"bench"}  # its arguments after NAME are the benchmark's own (tests/bench/NAME.py)


def prose(text: str) -> str:
    """The page without fenced blocks and code spans: a link is only a link outside them."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: links to their text, lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in FENCE.sub("", page.read_text()).splitlines():
        if match := re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line):
            base = slug(match.group(1))
            count = counts.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")  # a repeated heading: -1, -2, as GitHub
            counts[base] = count + 1
    return frozenset(found)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.relative_to(ROOT)}")
    return broken


def named_commands(page: Path) -> list[list[str]]:
    """The words after each `python3 tasks.py` on the page (flags, task, its arguments), up to the end of
    the code span, a comment, a table cell or a shell operator; quoted arguments stay one word."""
    commands = []
    for match in COMMAND.finditer(page.read_text()):
        words = match.group(1)
        try:
            commands.append(shlex.split(words))
        except ValueError:  # an apostrophe of prose after a bare command
            commands.append(words.split())
    return commands


@cache
def task_help(name: str) -> str:
    """What `python3 tasks.py NAME --help` prints, through the CLI's own Program and collection."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        tasks.Tasks(namespace=tasks.namespace, name="tasks", binary="python3 tasks.py", version="docs").run(
            tasks._bench_argv(["tasks.py", name, "--help"]), exit=False)
    return out.getvalue()


def command_problems(words: list[str]) -> list[str]:
    task = next((w for w in words if not w.startswith("-")), None)
    if task is None or not re.fullmatch(r"[a-z][a-z0-9-]*", task):
        return []  # `python3 tasks.py --help`, or a placeholder such as TASK
    listed = dict(tasks.task_listing())
    if task not in listed or task not in tasks.namespace.task_names:
        return [f"{' '.join(words)}: no task {task!r}"]
    shown = task_help(task)
    if not re.match(rf"(?i)usage: python3 tasks\.py .*\b{re.escape(task)}\b", shown):
        return [f"{task} --help does not show its usage: {shown[:200]!r}"]
    rest = words[words.index(task) + 1:]
    if task in PASSED_THROUGH:
        name = next((w for w in rest if not w.startswith("-")), None)
        ok = name is None or not name.islower() or name in tasks._benchmarks()
        return [] if ok else [f"bench {name}: no such benchmark"]
    flags = [word.strip("[]").split("=")[0] for word in rest]  # `[--fix]` in a synopsis is --fix
    return [f"{task} {flag}: not an option its --help lists" for flag in flags
            if flag.startswith("--") and flag not in shown]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert not broken_links(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_task_exists_and_its_help_works(page):
    commands = named_commands(page)
    assert not [problem for words in commands for problem in command_problems(words)]


def test_the_pages_name_tasks_and_link_each_other():
    """The checks above see something: the README links into docs/ and names the two commands."""
    readme = PAGES[0]
    assert ["demo"] in named_commands(readme) and ["test"] in named_commands(readme)
    assert {"docs/deploy.md", "docs/operate.md"} <= set(LINK.findall(prose(readme.read_text())))
    assert all(anchors(page) for page in PAGES)


def test_the_slugs_are_githubs():
    assert slug("By hand: `serve`") == "by-hand-serve"
    assert slug("host.json") == "hostjson"
    assert slug("How sure we are: what was checked, and what has never run") == \
        "how-sure-we-are-what-was-checked-and-what-has-never-run"
    assert slug("Sizing: threads, drain workers, mass eviction") == "sizing-threads-drain-workers-mass-eviction"


def test_the_readme_stays_short():
    """What a newcomer reads in five minutes; the rest belongs in docs/."""
    assert len(PAGES[0].read_text().splitlines()) <= 150
