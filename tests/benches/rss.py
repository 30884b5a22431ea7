#!/usr/bin/env python3
"""Peak memory of the server under the hostile inputs, and whether memory goes back.

Runs the release binary (`cargo build --release -p api` first) over the demo data, then for each
step resets the process's peak resident size (`/proc/PID/clear_refs`), sends the request and
reads the new peak (`VmHWM`):

    python3 tests/benches/rss.py                     # SQLite in a temporary directory
    python3 tests/benches/rss.py postgres://postgres@127.0.0.1:5432/rss_bench   # PostgreSQL

Linux only (it reads /proc). The PostgreSQL database named is dropped and created.
"""

import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("API_BIN", os.path.join(ROOT, "target", "release", "api"))
EMAIL, PASSWORD = "root@example.org", "root-password-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024  # MiB
    raise KeyError(field)


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def post(url, body, headers, content_type="application/json"):
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("content-type", content_type)
    for k, v in headers.items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def graphql(base, query, headers, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return post(base + "/graphql", body, headers)


def multipart(base, query, name, data, headers):
    boundary = uuid.uuid4().hex
    parts = [
        ("operations", None, json.dumps({"query": query, "variables": {"file": None}}).encode()),
        ("map", None, json.dumps({"0": ["variables.file"]}).encode()),
        ("0", name, data),
    ]
    out = io.BytesIO()
    for field, filename, content in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{field}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out.write(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        out.write(content)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return post(base + "/graphql", out.getvalue(), headers, f"multipart/form-data; boundary={boundary}")


def xlsx(sheet):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def sheet(dimension, rows, padding=0):
    head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData>'
    return head.encode() + b" " * padding + b"</worksheet>"


def tz(n):
    digits = [int(d) for d in f"{n:08d}"]
    total = 0
    for i, d in enumerate(digits):
        v = d * (1 if i % 2 == 0 else 2)
        total += v - 9 if v > 9 else v
    return f"{n:08d}{(10 - total % 10) % 10}"


def students_csv(target_bytes):
    rows = ["student_tz,first_name,last_name,grade_level,birth_date,email,external_id"]
    size, n = len(rows[0]) + 1, 0
    rng = random.Random(7)
    while n < 200_000:
        n += 1
        line = f"{tz(10_000_000 + n)},תלמידה{n},משפחת-לוי{rng.randint(1, 99999)},{rng.randint(1, 12)},2012-0{rng.randint(1, 9)}-1{rng.randint(0, 9)},student.number{n}@example.org,ext-{n:09d}"
        if size + len(line.encode()) + 1 > target_bytes:
            n -= 1
            break
        rows.append(line)
        size += len(line.encode()) + 1
    return ("\n".join(rows) + "\n").encode(), n


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else None
    workdir = tempfile.mkdtemp(prefix="rss-bench-")
    if url is None:
        url = f"sqlite://{workdir}/school.db?mode=rwc"
    else:
        base_url, name = url.rsplit("/", 1)
        subprocess.run(["psql", f"{base_url}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", f"{base_url}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, BIND_ADDR=f"127.0.0.1:{port}", JWT_SECRET="x" * 40,
               BOOTSTRAP_ADMIN_EMAIL=EMAIL, BOOTSTRAP_ADMIN_PASSWORD=PASSWORD, RUST_LOG="warn")
    subprocess.run([BINARY, "demo"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        _, body = graphql(base, "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }", {}, {"e": EMAIL, "p": PASSWORD})
        token = json.loads(body)["data"]["login"]["token"]
        who = {"authorization": f"Bearer {token}", "x-school-id": "herzl-demo"}
        pid = server.pid
        nested = "{ classes(first: 30) { nodes { name students { firstName lastName grades { score subject { name } } } } } }"
        graphql(base, "{ apiVersion }", who)
        time.sleep(1)
        baseline = status(pid, "VmRSS")
        print(f"server RSS after start and sign-in: {baseline} MiB")
        print(f"{'step':<58} {'answer':<28} {'time':>9} {'peak RSS':>9}")

        def step(label, send):
            reset_peak(pid)
            started = time.perf_counter()
            code, body = send()
            elapsed = (time.perf_counter() - started) * 1000
            try:
                payload = json.loads(body)
                errors = payload.get("errors")
                if errors:
                    outcome = errors[0].get("extensions", {}).get("code", "?")
                else:
                    data = payload["data"]
                    inner = next(iter(data.values()))
                    outcome = inner.get("status", "ok") if isinstance(inner, dict) else "ok"
            except ValueError:
                outcome = "not JSON"
            print(f"{label:<58} {f'{code} {outcome} ({len(body):,} B)':<28} {elapsed:>7.1f}ms {status(pid, 'VmHWM'):>6} MiB")

        fan_out = "{ classes(first: 100) { nodes { students { class { students { class { students { class { students { class { students { id } } } } } } } } } } } }"
        step("fan-out, 4 levels of class { students }", lambda: graphql(base, fan_out, who))
        deep = "{ studentByTz(studentTz: " + "[" * 2000 + '"1"' + "]" * 2000 + ") { id } }"
        step("an argument nested 2,000 deep, no token", lambda: graphql(base, deep, {}))
        importing = "mutation($file: Upload!) { importStudents(file: $file, options: { dryRun: true }) { status rowsTotal } }"
        sparse = xlsx(sheet("A1:XFD1048576", '<row r="1"><c r="A1" t="inlineStr"><is><t>student_tz</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'))
        step(f"sparse XLSX A1 + XFD1048576 ({len(sparse):,} B), dry run", lambda: multipart(base, importing, "sparse.xlsx", sparse, who))
        bomb = xlsx(sheet("A1:A1", '<row r="1"><c r="A1" t="inlineStr"><is><t>student_tz</t></is></c></row>', padding=10 * 20 * 1024 * 1024 + 1))
        step(f"zip-bomb XLSX, 200 MiB unpacked ({len(bomb):,} B)", lambda: multipart(base, importing, "bomb.xlsx", bomb, who))
        wide = b"," * 1_000_000 + b"\n1\n"
        step("CSV header of a million commas", lambda: multipart(base, importing, "wide.csv", wide, who))
        csv, rows = students_csv(20 * 1024 * 1024 - 1024)
        step(f"students CSV, {len(csv) / 2**20:.1f} MiB, {rows:,} rows, dry run", lambda: multipart(base, importing, "students.csv", csv, who))
        writing = importing.replace("dryRun: true", "dryRun: false")
        step(f"the same file, written", lambda: multipart(base, writing, "students.csv", csv, who))
        step("the nested page (about 2.1 MB)", lambda: graphql(base, nested, who))
        for _ in range(10):
            graphql(base, nested, who)
        time.sleep(5)
        idle = status(pid, "VmRSS")
        # The allocator gives freed memory back as it next works: one small request.
        graphql(base, "{ apiVersion }", who)
        time.sleep(1)
        print(f"server RSS 5 s after 10 more nested pages: {idle} MiB; after one small request: "
              f"{status(pid, 'VmRSS')} MiB (at start: {baseline} MiB)")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
