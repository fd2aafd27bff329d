"""Fuzzing: the totals of generated cases, printed at the end of the run (each test records
how many it sent, so the numbers add up under pytest-xdist too)."""
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
