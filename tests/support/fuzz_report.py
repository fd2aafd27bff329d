"""Fuzzing (tests/fuzz): how many cases each test generated, printed at the end of the run.
Each test records its cases as a property of its report, so the numbers reach the terminal
under pytest-xdist too (a plugin of the root conftest: the xdist controller loads no
conftest of a folder it does not collect)."""
CASES_PROPERTY = "generated_cases"


def pytest_terminal_summary(terminalreporter):
    per_test = {}
    stats = terminalreporter.stats
    for report in stats.get("passed", []) + stats.get("failed", []):
        cases = sum(value for name, value in report.user_properties if name == CASES_PROPERTY)
        if report.when == "call" and cases:
            per_test[report.nodeid] = cases
    if per_test:
        terminalreporter.section("fuzzing: generated cases")
        for nodeid, cases in sorted(per_test.items()):
            terminalreporter.write_line(f"{cases:6d}  {nodeid}")
        terminalreporter.write_line(f"{sum(per_test.values()):6d}  in all, over "
                                    f"{len(per_test)} tests")
