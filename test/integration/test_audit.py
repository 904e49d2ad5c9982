"""The audit log end to end: every acknowledged request survives a SIGKILL of the server in a
chain that `basalt audit verify` accepts; altering a record makes verification fail there."""
import concurrent.futures
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_KEY, BASALT, Process, chat_body, start_mock


class AuditTest(unittest.TestCase):
    def setUp(self):
        self.mock = start_mock()
        self.dir = tempfile.mkdtemp(prefix="basalt-audit-")
        self.data = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "basalt.toml")
        with open(self.config, "w") as f:
            f.write(f'data_dir = "{self.data}"\n[server]\nlisten = "127.0.0.1:0"\nthreads = 2\n'
                    f'[[providers]]\nname = "mock"\ntype = "openai"\n'
                    f'base_url = "http://{self.mock.address}/v1"\n'
                    f'[[models]]\nname = "gpt-mock"\n[[models.routes]]\nprovider = "mock"\n'
                    f'model = "m"\n')

    def tearDown(self):
        self.mock.stop()

    def cli(self, *args, url=None):
        env = dict(os.environ, BASALT_ADMIN_KEY=ADMIN_KEY)
        if url:
            env["BASALT_URL"] = url
        return subprocess.run([BASALT, *args], capture_output=True, timeout=30, env=env)

    def test_sigkill_under_load_loses_no_acknowledged_record(self):
        gw = Process(["serve", "--config", self.config])
        acknowledged = []
        deadline = time.monotonic() + 1.5

        def worker():
            ids = []
            while time.monotonic() < deadline:
                try:
                    status, hdrs, _ = gw.request("POST", "/v1/chat/completions", chat_body("x"),
                                                 timeout=5)
                except Exception:  # the server is killed under us
                    break
                if status == 200:
                    ids.append(hdrs["x-request-id"])
            return ids

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(worker) for _ in range(8)]
            time.sleep(1.0)
            gw.proc.send_signal(signal.SIGKILL)
            for f in futures:
                acknowledged += f.result()
        gw.stop()
        self.assertGreater(len(acknowledged), 20)

        # Restart on the same data dir: the chain continues.
        gw2 = Process(["serve", "--config", self.config])
        try:
            status, _, _ = gw2.request("POST", "/v1/chat/completions", chat_body("after restart"))
            self.assertEqual(status, 200)
            url = f"http://{gw2.address}"
            r = self.cli("audit", "query", "--limit", "100000", url=url)
            self.assertEqual(r.returncode, 0, r.stderr)
            recorded = {json.loads(line).get("requestID") for line in r.stdout.decode().splitlines()
                        if line.strip()}
        finally:
            gw2.stop()
        missing = [rid for rid in acknowledged if rid not in recorded]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged requests have no record")

        r = self.cli("audit", "verify", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # Alter one record in place: verification fails and names it.
        db = sqlite3.connect(os.path.join(self.data, "basalt.db"))
        db.execute("UPDATE audit SET record = replace(record, '\"status\":200', '\"status\":201') "
                   "WHERE seq = 5")
        db.commit()
        db.close()
        r = self.cli("audit", "verify", "--data", self.data)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"5", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
