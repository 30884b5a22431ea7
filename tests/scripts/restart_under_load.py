#!/usr/bin/env python3
"""Restarts PostgreSQL while clients write, and counts acknowledged writes that were lost.

Clients create subjects (each with a unique name) as fast as they can; halfway through,
PostgreSQL is stopped for 5 seconds and started again (`pg_ctlcluster <version> main stop|start`,
which needs the right to do so).
Every subject the service acknowledged (answered with an id) must be in the database afterwards.
Also reports how the requests during the outage were answered and how long they took, and how
long `/ready` took to say so.

    cargo build --release -p api
    python3 tests/scripts/restart_under_load.py [target/release/api]

Exit status 1 if an acknowledged write was lost or a failure was answered without a code.
"""

import collections
import os
import subprocess
import sys
import threading
import time
import urllib.request

from service import Service, drop_database, fresh_database

CLIENTS = 8
SECONDS = 20
DOWN = 5


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/api"
    version = os.environ.get("PG_VERSION") or sorted(os.listdir("/etc/postgresql"))[-1]
    database = fresh_database("postgres")
    service = Service(binary, database)
    service.start()
    root = service.login()
    school = "first-school"
    acked, lock = [], threading.Lock()
    answers = collections.Counter()
    slowest_failure = [0.0]
    stop = threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            i += 1
            name = f"c{n}-{i}"
            started = time.time()
            try:
                status, body = service.gql(
                    "mutation($n: String!) { createSubject(input: { name: $n }) { id } }",
                    {"n": name}, token=root, school=school, timeout=30)
            except Exception as e:
                with lock:
                    answers[f"no answer ({type(e).__name__})"] += 1
                continue
            took = time.time() - started
            data = (body.get("data") or {}).get("createSubject")
            with lock:
                if data and data.get("id"):
                    acked.append(name)
                    answers["200 ok"] += 1
                else:
                    code = ((body.get("errors") or [{}])[0].get("extensions") or {}).get("code", "<no code>")
                    answers[f"{status} {code}"] += 1
                    slowest_failure[0] = max(slowest_failure[0], took)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(SECONDS / 2)
    restart_started = time.time()
    ready_during = []

    def probe():
        while not stop.is_set():
            started = time.time()
            try:
                with urllib.request.urlopen(service.url("/ready"), timeout=10) as r:
                    ready_during.append((r.status, time.time() - started))
            except urllib.error.HTTPError as e:
                ready_during.append((e.code, time.time() - started))
            except Exception:
                ready_during.append((0, time.time() - started))
            time.sleep(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop"], check=True)
    time.sleep(DOWN)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    restarted_in = time.time() - restart_started
    time.sleep(SECONDS / 2)
    stop.set()
    for t in threads + [prober]:
        t.join()
    # What is in the database, read as the superuser (around row-level security).
    superuser = os.environ.get("SUPERUSER_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_url = superuser.rsplit("/", 1)[0] + "/" + database.rsplit("/", 1)[1]
    stored = set(subprocess.run(["psql", db_url, "-Atc", "SELECT name FROM subjects"],
                                check=True, capture_output=True, text=True).stdout.split())
    lost = [name for name in acked if name not in stored]
    service.kill()
    drop_database(database)
    not_ready = [t for s, t in ready_during if s != 200]
    print(f"PostgreSQL {version} stopped and started again ({restarted_in:.1f} s down) under {CLIENTS} writing clients ({SECONDS} s in all)")
    print(f"answers: {dict(answers)}")
    print(f"acknowledged writes: {len(acked)}; lost: {len(lost)}")
    print(f"slowest failed request: {slowest_failure[0]:.2f} s")
    if not_ready:
        print(f"/ready said not ready {len(not_ready)} times, slowest answer {max(not_ready):.2f} s")
    uncoded = sum(n for k, n in answers.items() if k.endswith("<no code>"))
    sys.exit(1 if lost or uncoded else 0)


if __name__ == "__main__":
    main()
