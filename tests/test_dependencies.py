"""The dependency lock: direct dependencies in requirements*.in, every package the app and the
tests install pinned with its hashes in requirements*.txt (compiled by `make lock`), and the
lock complete — nothing the locked packages need is left for pip to choose."""
import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.txt", "requirements-test.txt", "requirements-bench.txt")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ \\]+) \\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}")
# Packages the code imports under a name of another distribution's, or the standard library.
OWN = {"finance_app", "tests", "config", "bench", "wsgi", "migrations"}


def locked(name):
    """{canonical name: version} of a lock file; every pin must be followed by its hashes."""
    pins, lines = {}, (ROOT / name).read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert HASH.match(lines[number + 1]), f"{name}:{number + 1}: {line} has no hash"
            pins[canonicalize_name(match.group(1))] = match.group(2)
        else:
            assert not line or line.startswith(("#", " ")), f"{name}:{number + 1}: {line!r}"
    return pins


def direct(name):
    """Canonical names of the direct dependencies a requirements*.in file lists."""
    names = set()
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= direct(line.split()[1])
        elif line and not line.startswith("-"):
            requirement = Requirement(line)
            assert str(requirement.specifier).startswith("=="), f"{name}: {line} is not pinned"
            names.add(canonicalize_name(requirement.name))
    return names


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes_and_its_needs_are_locked(lock):
    pins = locked(lock)
    missing = {}
    for name in pins:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # another platform's package (the lock covers them all)
        for spec in map(Requirement, requires):
            if spec.marker is None or spec.marker.evaluate({"extra": ""}):
                if canonicalize_name(spec.name) not in pins:
                    missing.setdefault(name, []).append(spec.name)
    assert not missing, f"{lock} leaves these to pip: {missing}"


@pytest.mark.parametrize("source,lock", [("requirements.in", "requirements.txt"),
                                         ("requirements-test.in", "requirements-test.txt"),
                                         ("requirements-bench.in", "requirements-bench.txt")])
def test_the_lock_holds_every_direct_dependency(source, lock):
    assert direct(source) <= set(locked(lock)), f"run `make lock`: {lock} is behind {source}"


@pytest.mark.parametrize("lock", ["requirements-test.txt", "requirements-bench.txt"])
def test_the_test_and_bench_locks_install_the_apps_versions(lock):
    app, other = locked("requirements.txt"), locked(lock)
    assert {name: other.get(name) for name in app} == app


def _imported_top_level(folder):
    modules = set()
    for path in (ROOT / folder).rglob("*.py"):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - OWN - set(sys.stdlib_module_names)


@pytest.mark.parametrize("folders,source", [
    (("finance_app", "migrations", "config"), "requirements.in"),
    (("finance_app", "migrations", "config", "tests"), "requirements-test.in"),
    (("finance_app", "migrations", "config", "bench"), "requirements-bench.in"),
])
def test_every_imported_package_is_a_direct_dependency(folders, source):
    """An import served by a package only some other dependency brings in would break the
    day that one drops it: what the code imports is listed in requirements*.in."""
    providers = metadata.packages_distributions()
    declared = direct(source)
    undeclared = {}
    for module in set().union(*(_imported_top_level(f) for f in folders)):
        distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not distributions & declared:
            undeclared[module] = sorted(distributions)
    assert not undeclared, f"imported but not in {source}: {undeclared}"
