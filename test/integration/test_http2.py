"""HTTP/2 end to end: the real `basalt serve` binary driven by Debian's nghttp / h2load clients
(h2c with prior knowledge, as the AWS JS SDK does against an http:// endpoint)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ADMIN_KEY, chat_body, read_sse, single_route_model, start_gateway, start_mock

NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")


def nghttp(*args, timeout=30):
    """Runs nghttp; returns (returncode, stdout bytes, stderr bytes)."""
    r = subprocess.run([NGHTTP, "--no-dep", *args], capture_output=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


@unittest.skipUnless(NGHTTP and H2LOAD, "nghttp2-client (nghttp, h2load) is not installed")
class Http2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = start_mock()
        cls.gw = start_gateway([("mock", cls.mock)], single_route_model())
        cls.base = f"http://{cls.gw.address}"
        cls.tmp = tempfile.mkdtemp(prefix="basalt-h2-")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    def write_body(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(body, f)
        return path

    def test_healthz_over_h2c(self):
        code, out, err = nghttp("-nv", f"{self.base}/healthz")
        self.assertEqual(code, 0, err)
        text = out.decode(errors="replace")
        self.assertIn(":status: 200", text)
        self.assertIn("x-request-id:", text)

    def test_chat_completion_over_h2c(self):
        path = self.write_body("chat.json", chat_body("hi over h2"))
        headers = ["-H", f"authorization: Bearer {ADMIN_KEY}",
                   "-H", "content-type: application/json", "-H", "x-request-id: h2-req-1"]
        code, out, err = nghttp(*headers, "-d", path, f"{self.base}/v1/chat/completions")
        self.assertEqual(code, 0, err)
        body = json.loads(out)
        self.assertEqual(body["choices"][0]["message"]["content"], "You said: hi over h2")
        code, out, err = nghttp("-v", *headers, "-d", path, f"{self.base}/v1/chat/completions")
        text = out.decode(errors="replace")
        self.assertIn(":status: 200", text)
        self.assertIn("x-request-id: h2-req-1", text)

    def test_streaming_chat_over_h2c(self):
        path = self.write_body("stream.json", chat_body("a b c d", stream=True))
        code, out, err = nghttp("-H", f"authorization: Bearer {ADMIN_KEY}",
                                "-H", "content-type: application/json",
                                "-d", path, f"{self.base}/v1/chat/completions")
        self.assertEqual(code, 0, err)
        events = read_sse(out)
        self.assertEqual(events[-1], "[DONE]")
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in map(json.loads, events[:-1]) if c["choices"])
        self.assertEqual(text, "You said: a b c d")

    def test_unauthenticated_request_gets_401_over_h2c(self):
        path = self.write_body("noauth.json", chat_body("x"))
        code, out, err = nghttp("-v", "-H", "content-type: application/json", "-d", path,
                                f"{self.base}/v1/chat/completions")
        self.assertIn(":status: 401", out.decode(errors="replace"))

    def test_many_multiplexed_streams(self):
        r = subprocess.run([H2LOAD, "-n", "300", "-c", "2", "-m", "32", f"{self.base}/healthz"],
                           capture_output=True, timeout=60)
        text = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, text)
        self.assertIn("300 succeeded, 0 failed", text)
        self.assertIn("status codes: 300 2xx", text)

    def test_http11_still_served_on_the_same_port(self):
        status, _, _ = self.gw.request("GET", "/healthz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
