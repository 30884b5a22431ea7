"""Starting the `api` binary on a fresh database and talking to it, for the crash scripts."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

ROOT_EMAIL = "root@example.org"
ROOT_PASSWORD = "a-long-root-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(backend):
    """A new empty database: a SQLite file, or a PostgreSQL database made by the owner role
    (`OWNER_URL`, default postgres://school_owner@127.0.0.1:5432/postgres)."""
    if backend == "sqlite":
        path = os.path.join(tempfile.mkdtemp(prefix="crash-"), "school.db")
        return f"sqlite://{path}?mode=rwc"
    owner = os.environ.get("OWNER_URL", "postgres://school_owner@127.0.0.1:5432/postgres")
    name = "crash_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", owner, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return owner.rsplit("/", 1)[0] + "/" + name


def drop_database(url):
    """Removes a database made by `fresh_database`."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):].split("?")[0]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)


class Service:
    def __init__(self, binary, database_url, extra=None):
        self.binary, self.database_url = binary, database_url
        self.port = free_port()
        self.extra = extra or {}
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "BIND_ADDR": f"127.0.0.1:{self.port}",
            "JWT_SECRET": "x" * 48,
            "BOOTSTRAP_ADMIN_EMAIL": ROOT_EMAIL,
            "BOOTSTRAP_ADMIN_PASSWORD": ROOT_PASSWORD,
            "RUST_LOG": "warn",
        })
        env.update(self.extra)
        self.log = open(os.path.join(tempfile.gettempdir(), f"service-{self.port}.log"), "a")
        self.proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url("/ready"), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service stopped at start-up (see {self.log.name})")
            time.sleep(0.1)
        raise RuntimeError("the service did not become ready")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def gql(self, query, variables=None, token=None, school=None, timeout=120):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return self._post(body, "application/json", token, school, timeout)

    def upload(self, query, variables, file_name, data, token, school, timeout=600):
        boundary = "----crash" + uuid.uuid4().hex
        variables = dict(variables, file=None)
        parts = [
            ("operations", None, json.dumps({"query": query, "variables": variables}).encode()),
            ("map", None, json.dumps({"0": ["variables.file"]}).encode()),
            ("0", file_name, data),
        ]
        out = b""
        for name, fname, content in parts:
            out += f"--{boundary}\r\n".encode()
            disposition = f'form-data; name="{name}"' + (f'; filename="{fname}"' if fname else "")
            out += f"Content-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return self._post(out, f"multipart/form-data; boundary={boundary}", token, school, timeout)

    def _post(self, body, content_type, token, school, timeout):
        request = urllib.request.Request(self.url("/graphql"), data=body, method="POST")
        request.add_header("content-type", content_type)
        if token:
            request.add_header("authorization", f"Bearer {token}")
        if school:
            request.add_header("x-school-id", school)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def login(self, email=ROOT_EMAIL, password=ROOT_PASSWORD):
        _, body = self.gql("mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                           {"e": email, "p": password})
        return body["data"]["login"]["token"]


def national_id(n):
    body = f"{n % 100_000_000:08d}"
    total = 0
    for i, c in enumerate(body):
        x = int(c) * (1 if i % 2 == 0 else 2)
        total += x // 10 + x % 10
    return f"{body}{(10 - total % 10) % 10}"
