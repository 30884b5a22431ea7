#!/usr/bin/env python3
"""Kills the service (SIGKILL) at many moments of a large import, restarts it, and compares the
import's log with the rows that are there: a log that says SUCCEEDED must have every row, any
other outcome none. Also checks that an import the client saw succeed is still there.

    cargo build --release -p api
    python3 tests/scripts/kill_import.py [sqlite|postgres] [target/release/api]

On PostgreSQL the database is made by the owner role (OWNER_URL, default
postgres://school_owner@127.0.0.1:5432/postgres; `.ci/run` creates that role).
Exit status 1 if any run disagrees.
"""

import sys
import threading
import time

from service import Service, drop_database, fresh_database, national_id

ROWS = 50_000
IMPORT = "mutation($file: Upload!) { importStudents(file: $file) { status rowsOk } }"


def main():
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/api"
    database = fresh_database(backend)
    service = Service(binary, database,
                      {"IMPORT_MAX_ROWS": str(ROWS), "IMPORT_MAX_BYTES": str(64 << 20)})
    service.start()
    root = service.login()
    lines = ["student_tz,first_name,last_name"]
    lines += [f"{national_id(10_000_000 + 7 * i)},שם{i},משפחה" for i in range(ROWS)]
    data = ("\n".join(lines) + "\n").encode()

    # How long one import takes here, to spread the kills over it.
    service.gql("mutation { createSchool(input: { name: \"timing\", slug: \"timing\" }) { id } }", token=root)
    started = time.time()
    status, body = service.upload(IMPORT, {}, "students.csv", data, root, "timing")
    full = time.time() - started
    assert body["data"]["importStudents"]["status"] == "SUCCEEDED", body
    print(f"{backend}: one import of {ROWS} rows takes {full:.2f} s; killing at fractions of that")

    results, bad = [], 0
    fractions = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.2]
    for i, fraction in enumerate(fractions):
        slug = f"run-{i}"
        service.gql("mutation($n: String!, $s: String!) { createSchool(input: { name: $n, slug: $s }) { id } }",
                    {"n": slug, "s": slug}, token=root)
        answer = {}

        def send():
            try:
                answer["body"] = service.upload(IMPORT, {}, "students.csv", data, root, slug)[1]
            except Exception as e:  # the connection dies with the server
                answer["error"] = type(e).__name__

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(full * fraction)
        service.kill()
        thread.join()
        service.start()
        root = service.login()
        _, logs = service.gql("{ importLogs(first: 5) { nodes { status rowsOk message } } }", token=root, school=slug)
        _, count = service.gql("{ students { totalCount } }", token=root, school=slug)
        nodes = logs["data"]["importLogs"]["nodes"]
        log = nodes[0] if nodes else {"status": "NONE", "rowsOk": 0}
        rows = count["data"]["students"]["totalCount"]
        acknowledged = answer.get("body", {}).get("data", {}) or {}
        acked = (acknowledged.get("importStudents") or {}).get("status") == "SUCCEEDED"
        ok = (log["status"] == "SUCCEEDED" and rows == ROWS) or (log["status"] in ("FAILED", "NONE") and rows == 0)
        ok = ok and (not acked or log["status"] == "SUCCEEDED")
        bad += not ok
        results.append((fraction, "answered SUCCEEDED" if acked else answer.get("error", "no answer"),
                        log["status"], rows, "ok" if ok else "DISAGREE"))
    service.kill()
    drop_database(database)
    print(f"{'kill at':>8} | {'client saw':<22} | {'log after restart':<17} | {'rows':>6} | verdict")
    for fraction, saw, status, rows, verdict in results:
        print(f"{fraction * full:>7.2f}s | {saw:<22} | {status:<17} | {rows:>6} | {verdict}")
    print(f"{len(results)} kills, {bad} disagreements")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
