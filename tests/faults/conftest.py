from tests.faults.postgres_server import private_postgres  # noqa: F401 (a fixture)
