"""Process lifecycle: defaults without a config file, graceful shutdown draining streams,
start-up failures that name the problem."""
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BASALT, Process, chat_body, read_sse, single_route_model, start_gateway, start_mock


class LifecycleTest(unittest.TestCase):
    def test_defaults_without_config(self):
        cwd = tempfile.mkdtemp(prefix="basalt-defaults-")
        gw = Process(["serve", "--listen", "127.0.0.1:0"], cwd=cwd)
        try:
            status, _, _ = gw.request("GET", "/healthz")
            self.assertEqual(status, 200)
            status, _, body = gw.json("GET", "/v1/models")
            self.assertEqual(body["data"], [])
            self.assertTrue(os.path.isdir(os.path.join(cwd, "basalt-data")))
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_env_override_of_listen(self):
        cwd = tempfile.mkdtemp(prefix="basalt-env-")
        gw = Process(["serve"], cwd=cwd, env={"BASALT_LISTEN": "127.0.0.1:0",
                                              "BASALT_DATA": os.path.join(cwd, "d")})
        try:
            self.assertEqual(gw.request("GET", "/healthz")[0], 200)
            self.assertTrue(os.path.isdir(os.path.join(cwd, "d")))
        finally:
            gw.stop()

    def test_perimeter_off_serves_without_keys_on_loopback_only(self):
        mock = start_mock()
        try:
            gw = start_gateway([("mock", mock)], single_route_model(),
                               server_extra="perimeter = false")
            try:
                status, _, body = gw.json("POST", "/v1/chat/completions", chat_body("open"),
                                          {"authorization": None})
                self.assertEqual(status, 200, body)
            finally:
                gw.stop()
        finally:
            mock.stop()
        tmp = tempfile.mkdtemp(prefix="basalt-open-")
        path = os.path.join(tmp, "basalt.toml")
        with open(path, "w") as f:
            f.write(f'data_dir = "{tmp}/data"\n[server]\nlisten = "0.0.0.0:0"\nperimeter = false\n')
        r = subprocess.run([BASALT, "serve", "--config", path], capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"loopback", r.stderr)

    def test_bad_config_fails_fast_naming_the_key(self):
        tmp = tempfile.mkdtemp(prefix="basalt-bad-")
        path = os.path.join(tmp, "basalt.toml")
        with open(path, "w") as f:
            f.write('[server]\nlisten = "127.0.0.1:0"\nthreds = 2\n')
        r = subprocess.run([BASALT, "serve", "--config", path], capture_output=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"threds", r.stderr)
        self.assertIn(b"basalt.toml:3", r.stderr)

    def test_sigterm_drains_in_flight_stream(self):
        mock = start_mock()
        gw = start_gateway([("mock", mock)], single_route_model())
        result = {}

        def stream():
            result["resp"] = gw.request(
                "POST", "/v1/chat/completions",
                chat_body("#mock tokens_per_s=10 reply=\"a b c d e f g h\"", stream=True),
                timeout=15)

        t = threading.Thread(target=stream)
        t.start()
        time.sleep(0.4)
        gw.proc.send_signal(signal.SIGTERM)
        t.join(15)
        code = gw.proc.wait(15)
        mock.stop()
        self.assertEqual(code, 0)
        status, _, raw = result["resp"]
        self.assertEqual(status, 200)
        events = read_sse(raw)
        self.assertEqual(events[-1], "[DONE]")
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                       for e in events[:-1] if json.loads(e)["choices"])
        self.assertEqual(text, "a b c d e f g h")


if __name__ == "__main__":
    unittest.main()
