"""A separate OS process that makes dashboard changes through the admin JSON API, for the
concurrency tests (`test_concurrent_changes.py`): like another worker or host, it builds its
own app on the shared database.

Run as `python -m tests.admin.change_worker`; it speaks JSON lines. The first line on stdin is
`{"settings": {...}, "token": ...}` (the app's config and an admin's API token); it answers
`{"ready": <status>}` once it has served a first request. Then each line is a change made
when `time.monotonic()` reads `at` (a clock every process on the machine shares), so that two
workers start a change at the same moment:
- `{"at": ..., "method": ..., "path": ..., "body": ...}`: a request; the answer is
  `{"status": ..., "body": ...}`;
- `{"at": ..., "enable_cohort": name}`: straight through the flag service, as ops commands
  do; the answer is `{"done": true}`.
It exits at the end of stdin.
"""
import json
import sys
import time

from finance_app import create_app


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    setup = json.loads(sys.stdin.readline())
    app = create_app("testing", **setup["settings"])
    client = app.test_client()
    headers = {"Authorization": f"Bearer {setup['token']}"}
    try:
        reply({"ready": client.get("/api/admin/isolation", headers=headers).status_code})
        for line in sys.stdin:
            request = json.loads(line)
            time.sleep(max(0.0, request["at"] - time.monotonic()))
            if "enable_cohort" in request:
                with app.app_context():
                    app.extensions["flags"].enable_cohort(request["enable_cohort"])
                reply({"done": True})
                continue
            response = client.open(request["path"], method=request["method"],
                                   json=request["body"], headers=headers)
            reply({"status": response.status_code, "body": response.get_json()})
    finally:
        app.extensions["flags"].close()


if __name__ == "__main__":
    main()
