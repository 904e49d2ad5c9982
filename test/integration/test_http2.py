"""HTTP/2 end to end: the real `basalt serve` binary driven by Debian's nghttp / h2load clients
(h2c with prior knowledge, as the AWS JS SDK does against an http:// endpoint)."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
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


@unittest.skipUnless(NGHTTP, "nghttp2-client (nghttp) is not installed")
class Http2LifecycleTest(unittest.TestCase):
    def test_sigterm_drains_an_h2_stream(self):
        mock = start_mock()
        gw = start_gateway([("mock", mock)], single_route_model())
        tmp = tempfile.mkdtemp(prefix="basalt-h2-")
        path = os.path.join(tmp, "slow.json")
        with open(path, "w") as f:
            json.dump(chat_body("#mock tokens_per_s=10 reply=\"a b c d e f g h\"", stream=True), f)
        client = subprocess.Popen(
            [NGHTTP, "--no-dep", "-H", f"authorization: Bearer {ADMIN_KEY}",
             "-H", "content-type: application/json", "-d", path,
             f"http://{gw.address}/v1/chat/completions"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(0.4)
            gw.proc.send_signal(signal.SIGTERM)
            out, _ = client.communicate(timeout=20)
            code = gw.proc.wait(15)
        finally:
            if client.poll() is None:
                client.kill()
            gw.stop()
            mock.stop()
        self.assertEqual(code, 0)
        events = read_sse(out)
        self.assertEqual(events[-1], "[DONE]")
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in map(json.loads, events[:-1]) if c["choices"])
        self.assertEqual(text, "a b c d e f g h")

    def test_alpn_h2_under_tls(self):
        tmp = tempfile.mkdtemp(prefix="basalt-h2-tls-")
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=30)
        mock = start_mock()
        gw = start_gateway([("mock", mock)], single_route_model(),
                           server_extra=f'tls_cert = "{cert}"\ntls_key = "{key}"')
        try:
            code, out, err = nghttp("-nv", "-y", f"https://{gw.address}/healthz")
            text = out.decode(errors="replace")
            self.assertEqual(code, 0, err)
            self.assertIn(":status: 200", text)
        finally:
            gw.stop()
            mock.stop()


if __name__ == "__main__":
    unittest.main()
