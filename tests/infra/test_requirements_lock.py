"""The deployed app's requirements: requirements.lock.txt pins every package of requirements.txt
inside its range, each with hashes, and `tasks.py publish` ships the lock as requirements.txt."""
import io
import re
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops import publish as P

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, tuple[str, list[str]]]:
    text = (ROOT / "requirements.lock.txt").read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)(.*)$", line.strip()):
            found[canonicalize_name(match[1])] = (match[2], re.findall(r"--hash=sha256:[0-9a-f]{64}", match[3]))
    return found


def ranges() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_every_requirement_is_pinned_inside_its_range_with_hashes():
    locked = pins()
    for wanted in ranges():
        version, hashes = locked[canonicalize_name(wanted.name)]
        assert wanted.specifier.contains(version, prereleases=True), f"{wanted}: the lock has {version}"
    assert all(hashes for _, hashes in locked.values()), [n for n, (_, h) in locked.items() if not h]


def test_the_published_package_installs_the_lock():
    data, names = P.package()
    shipped = zipfile.ZipFile(io.BytesIO(data)).read("requirements.txt")
    assert shipped == (ROOT / "requirements.lock.txt").read_bytes()
    assert "requirements.lock.txt" not in names and not [n for n in names if n.startswith(".hypothesis")]
