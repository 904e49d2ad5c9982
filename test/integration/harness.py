"""Starts the real basalt binary and mock upstreams on free loopback ports for integration tests.

Everything here is stdlib so the tests run on a bare Debian machine.
"""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time

BASALT = os.environ.get("BASALT_BINARY") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "basalt")

# Every gateway a test starts gets this root admin key (BASALT_ADMIN_KEY on first start), and
# requests carry it unless a test passes its own authorization header.
ADMIN_KEY = "bsk-test-root-admin-key-for-integration-tests"


class Process:
    """A basalt subprocess that printed 'listening on HOST:PORT'."""

    def __init__(self, args, env=None, cwd=None, timeout=10.0):
        full_env = dict(os.environ)
        full_env.setdefault("BASALT_ADMIN_KEY", ADMIN_KEY)
        full_env.update(env or {})
        self.args = args
        self.proc = subprocess.Popen([BASALT, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env, cwd=cwd)
        self.address = None
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = re.search(rb"listening on (\S+)", buf)
                if m:
                    self.address = m.group(1).decode()
                    break
            if self.proc.poll() is not None:
                break
        if self.address is None:
            self.proc.kill()
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError(f"basalt {' '.join(args)} did not start: {buf!r} {err}")
        self.host, port = self.address.rsplit(":", 1)
        self.port = int(port)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """One HTTP/1.1 request on a fresh connection; returns (status, headers dict, bytes)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = body
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
            hdrs = {"content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"}
            hdrs.update(headers or {})
            hdrs = {k: v for k, v in hdrs.items() if v is not None}
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        return status, hdrs, json.loads(data) if data else None

    def connect(self):
        return socket.create_connection((self.host, self.port), timeout=10)


def start_mock(*args):
    return Process(["mock-upstream", "--listen", "127.0.0.1:0", *args])


def mock_stats(mock):
    status, _, body = mock.request("GET", "/mock/stats")
    assert status == 200, body
    return json.loads(body)


# The [[providers]] lines of each provider type for a mock-upstream at `address` (the mock
# speaks every vendor's API on one port).
PROVIDER_TOML = {
    "openai": lambda a: ['type = "openai"', f'base_url = "http://{a}/v1"'],
    "anthropic": lambda a: ['type = "anthropic"', f'base_url = "http://{a}"'],
    "bedrock": lambda a: ['type = "bedrock"', 'region = "us-east-1"', f'base_url = "http://{a}"'],
}


def start_gateway(providers, models, server_extra="", routing=""):
    """Writes a basalt.toml with the given [[providers]]/[[models]] TOML and starts `serve`.

    providers: list of (name, mock Process[, provider type]) — type "openai" by default, or a
    PROVIDER_TOML key; models: raw TOML for [[models]] entries.
    """
    tmp = tempfile.mkdtemp(prefix="basalt-it-")
    lines = [f'data_dir = "{tmp}/data"', "[server]", 'listen = "127.0.0.1:0"', "threads = 2",
             server_extra]
    if routing:
        lines += ["[routing]", routing]
    for entry in providers:
        name, mock = entry[0], entry[1]
        kind = entry[2] if len(entry) > 2 else "openai"
        lines += ["[[providers]]", f'name = "{name}"'] + PROVIDER_TOML[kind](mock.address)
    lines.append(models)
    path = os.path.join(tmp, "basalt.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return Process(["serve", "--config", path])


def single_route_model(name="gpt-mock", provider="mock", upstream="mock-model", extra=""):
    return (f'[[models]]\nname = "{name}"\n[[models.routes]]\nprovider = "{provider}"\n'
            f'model = "{upstream}"\n{extra}\n')


def chat_body(text="hello", **kw):
    body = {"model": "gpt-mock", "messages": [{"role": "user", "content": text}]}
    body.update(kw)
    return body


def read_sse(raw):
    """Splits an SSE body into the payloads of its data: lines."""
    events = []
    for block in raw.decode().split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                events.append(line[len("data: "):])
    return events
