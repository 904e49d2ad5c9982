"""The Chat Completions door end to end: real binary, real sockets, mock upstream."""
import json
import socket
import time
import unittest

from harness import (ADMIN_KEY, chat_body, mock_stats, read_sse, single_route_model,
                     start_gateway, start_mock)


class ChatDoorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = start_mock()
        cls.gw = start_gateway([("mock", cls.mock)], single_route_model(),
                               server_extra="max_body_bytes = 65536\nheader_timeout_ms = 700")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    def assertOpenAIError(self, status, body, want_status, param=None):
        self.assertEqual(status, want_status, body)
        self.assertIn("error", body)
        err = body["error"]
        for key in ("message", "type", "param", "code"):
            self.assertIn(key, err)
        self.assertTrue(err["message"])
        if param is not None:
            self.assertEqual(err["param"], param)
        return err

    def test_non_stream(self):
        status, hdrs, body = self.gw.json("POST", "/v1/chat/completions", chat_body("hi there"))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["choices"][0]["message"]["content"], "You said: hi there")
        self.assertEqual(body["model"], "gpt-mock")
        self.assertIn("x-request-id", hdrs)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))

    def test_request_id_is_echoed(self):
        _, hdrs, _ = self.gw.json("POST", "/v1/chat/completions", chat_body(),
                                  {"x-request-id": "req-abc-123"})
        self.assertEqual(hdrs["x-request-id"], "req-abc-123")

    def test_stream_wire_format(self):
        status, hdrs, raw = self.gw.request(
            "POST", "/v1/chat/completions",
            chat_body("a b c", stream=True, stream_options={"include_usage": True}))
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/event-stream"))
        self.assertNotIn(b"event:", raw)
        events = read_sse(raw)
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"], "assistant")
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in chunks if c["choices"])
        self.assertEqual(text, "You said: a b c")
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertGreater(chunks[-1]["usage"]["total_tokens"], 0)
        for c in chunks[:-1]:
            self.assertIsNone(c["usage"])
        ids = {c["id"] for c in chunks}
        self.assertEqual(len(ids), 1)

    def test_stream_without_usage_has_no_usage_chunk(self):
        _, _, raw = self.gw.request("POST", "/v1/chat/completions", chat_body("x", stream=True))
        chunks = [json.loads(e) for e in read_sse(raw)[:-1]]
        self.assertTrue(all(c["choices"] for c in chunks))

    def test_models(self):
        status, _, body = self.gw.json("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(body["object"], "list")
        self.assertEqual([m["id"] for m in body["data"]], ["gpt-mock"])

    def test_malformed_json(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions", b'{"model": "gpt-mock",')
        err = self.assertOpenAIError(status, body, 400)
        self.assertEqual(err["type"], "invalid_request_error")

    def test_wrong_type(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions",
                                       chat_body(temperature="hot"))
        self.assertOpenAIError(status, body, 400, param="temperature")

    def test_missing_model(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions",
                                       {"messages": [{"role": "user", "content": "x"}]})
        # OpenAI's own answer: param null, the message names the field.
        err = self.assertOpenAIError(status, body, 400)
        self.assertIn("model", err["message"])

    def test_unknown_model(self):
        body = chat_body()
        body["model"] = "does-not-exist"
        status, _, resp = self.gw.json("POST", "/v1/chat/completions", body)
        err = self.assertOpenAIError(status, resp, 404)
        self.assertEqual(err["code"], "model_not_found")

    def test_empty_messages(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions",
                                       {"model": "gpt-mock", "messages": []})
        self.assertOpenAIError(status, body, 400, param="messages")

    def test_oversized_body(self):
        big = chat_body("x" * 100000)
        status, _, body = self.gw.json("POST", "/v1/chat/completions", big)
        self.assertOpenAIError(status, body, 413)
        # And the server keeps serving.
        status, _, _ = self.gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 200)

    def test_unknown_path_and_method(self):
        status, _, body = self.gw.json("POST", "/v1/nope", {})
        self.assertOpenAIError(status, body, 404)
        status, _, body = self.gw.json("GET", "/v1/chat/completions")
        self.assertEqual(status, 405)

    def test_slowloris_is_cut_off(self):
        s = self.gw.connect()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        try:
            while time.monotonic() - start < 5:
                s.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.2)
                s.settimeout(0.01)
                try:
                    if s.recv(4096) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                    break
                s.settimeout(10)
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        s.close()
        self.assertTrue(closed, "a trickling header block must be closed by the header timeout")
        self.assertLess(time.monotonic() - start, 4)
        status, _, _ = self.gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 200)

    def test_half_sent_body_then_close(self):
        s = self.gw.connect()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model\":")
        s.close()
        status, _, _ = self.gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 200)

    def test_keep_alive_and_pipelining(self):
        body = json.dumps(chat_body("pipelined")).encode()
        req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + ADMIN_KEY.encode() + b"\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        s = self.gw.connect()
        s.sendall(req + req.replace(b"pipelined", b"pipelinee"))
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"You said: pipeline") < 2 and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        first = data.find(b"You said: pipelined")
        second = data.find(b"You said: pipelinee")
        self.assertTrue(0 <= first < second, data)

    def test_client_disconnect_mid_stream_cancels_upstream(self):
        body = json.dumps(chat_body("#mock tokens_per_s=20 reply=\"" + "w " * 200 + "\"",
                                    stream=True)).encode()
        s = self.gw.connect()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nAuthorization: Bearer " + ADMIN_KEY.encode() +
                  b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        got = s.recv(4096)
        self.assertIn(b"200", got)
        s.close()
        # The mock sees its client (the gateway) go away long before the 10 s stream would end.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if mock_stats(self.mock).get("open_streams", 0) == 0:
                break
            time.sleep(0.1)
        self.assertEqual(mock_stats(self.mock).get("open_streams", 0), 0)
        status, _, _ = self.gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 200)

    def test_metrics(self):
        self.gw.json("POST", "/v1/chat/completions", chat_body())
        status, _, raw = self.gw.request("GET", "/metrics")
        self.assertEqual(status, 200)
        text = raw.decode()
        self.assertIn('basalt_requests_total{door="openai_chat",model="gpt-mock",status="200"}', text)
        self.assertIn("basalt_request_duration_seconds_bucket", text)
        self.assertIn("basalt_open_streams", text)

    def test_missing_and_wrong_keys_are_401(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions", chat_body(),
                                       {"authorization": None})
        err = self.assertOpenAIError(status, body, 401)
        self.assertIn("API key", err["message"])
        status, _, body = self.gw.json("POST", "/v1/chat/completions", chat_body(),
                                       {"authorization": "Bearer bsk-aaaaaaaaaaaaaaaa-" + "x" * 43})
        self.assertOpenAIError(status, body, 401)
        self.assertNotIn(b"x" * 43, json.dumps(body).encode())

    def test_healthz(self):
        status, _, raw = self.gw.request("GET", "/healthz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
