"""Shared fixtures live in tests/fixtures/*, one module per stand-in."""
pytest_plugins = [
    "tests.fixtures.clock_shift",
    "tests.fixtures.storage",
    "tests.fixtures.devhost",
    "tests.fixtures.sim",
    "tests.fixtures.kube",
    "tests.fixtures.stack",
]
