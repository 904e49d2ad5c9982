"""Routing reliability: weighted selection, fallback, retries, circuit breaker, mid-stream
failure. Each test starts its own mock upstreams and gateway."""
import json
import time
import unittest

from harness import ADMIN_KEY, chat_body, mock_stats, read_sse, start_gateway, start_mock


def model(routes, name="gpt-mock"):
    out = f'[[models]]\nname = "{name}"\n'
    for r in routes:
        out += "[[models.routes]]\n" + "\n".join(f"{k} = {v}" for k, v in r.items()) + "\n"
    return out


class RoutingTest(unittest.TestCase):
    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()

    def mock(self, *args):
        m = start_mock(*args)
        self.procs.append(m)
        return m

    def gateway(self, providers, models, routing=""):
        g = start_gateway(providers, models, routing=routing)
        self.procs.append(g)
        return g

    def test_fallback_on_5xx_before_first_byte(self):
        bad = self.mock("--status", "503")
        good = self.mock("--reply", "from the fallback")
        gw = self.gateway([("bad", bad), ("good", good)],
                          model([{"provider": '"bad"', "model": '"m"'},
                                 {"provider": '"good"', "model": '"m"', "fallback": "true"}]),
                          routing="retries = 0")
        for stream in (False, True):
            status, _, raw = gw.request("POST", "/v1/chat/completions", chat_body(stream=stream))
            self.assertEqual(status, 200, raw)
            self.assertIn(b"fallback", raw)
        self.assertGreaterEqual(mock_stats(bad)["requests"], 2)

    def test_fallback_on_connect_error_and_429(self):
        throttled = self.mock("--status", "429")
        good = self.mock()
        dead = start_mock()
        dead_address = dead.address
        dead.stop()  # nothing listens there any more: connect refused

        class Dead:
            address = dead_address

        gw = self.gateway([("dead", Dead), ("throttled", throttled), ("good", good)],
                          model([{"provider": '"dead"', "model": '"m"'},
                                 {"provider": '"throttled"', "model": '"m"', "fallback": "true"},
                                 {"provider": '"good"', "model": '"m"', "fallback": "true"}]))
        status, _, body = gw.json("POST", "/v1/chat/completions", chat_body("hi"))
        self.assertEqual(status, 200, body)
        self.assertEqual(mock_stats(throttled)["requests"], 1, "429 is not retried in place")

    def test_all_routes_fail_maps_status(self):
        throttled = self.mock("--status", "429")
        gw = self.gateway([("t", throttled)], model([{"provider": '"t"', "model": '"m"'}]))
        status, hdrs, body = gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 429, body)
        self.assertIn("retry-after", hdrs)
        self.assertIn("error", body)

        broken = self.mock("--status", "500")
        gw2 = self.gateway([("b", broken)], model([{"provider": '"b"', "model": '"m"'}]),
                           routing="retries = 2\nretry_backoff_ms = 1")
        status, _, body = gw2.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 502, body)
        self.assertEqual(mock_stats(broken)["requests"], 3, "one try plus two retries")

    def test_client_errors_from_upstream_are_not_retried(self):
        bad_request = self.mock("--status", "400")
        good = self.mock()
        gw = self.gateway([("b", bad_request), ("g", good)],
                          model([{"provider": '"b"', "model": '"m"'},
                                 {"provider": '"g"', "model": '"m"', "fallback": "true"}]))
        status, _, body = gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(status, 400, body)
        self.assertEqual(mock_stats(good)["requests"], 0)

    def test_circuit_breaker_opens_and_half_opens(self):
        bad = self.mock("--status", "500")
        good = self.mock()
        gw = self.gateway([("bad", bad), ("good", good)],
                          model([{"provider": '"bad"', "model": '"m"'},
                                 {"provider": '"good"', "model": '"m"', "fallback": "true"}]),
                          routing="retries = 0\nbreaker_failures = 2\nbreaker_cooldown_ms = 800")
        for _ in range(6):
            status, _, _ = gw.json("POST", "/v1/chat/completions", chat_body())
            self.assertEqual(status, 200)
        self.assertEqual(mock_stats(bad)["requests"], 2, "breaker opened after 2 failures")
        time.sleep(1.0)
        for _ in range(3):
            gw.json("POST", "/v1/chat/completions", chat_body())
        self.assertEqual(mock_stats(bad)["requests"], 3, "one half-open trial, then open again")

    def test_weighted_selection(self):
        a = self.mock()
        b = self.mock()
        gw = self.gateway([("a", a), ("b", b)],
                          model([{"provider": '"a"', "model": '"m"', "weight": "3"},
                                 {"provider": '"b"', "model": '"m"', "weight": "1"}]))
        for _ in range(200):
            gw.json("POST", "/v1/chat/completions", chat_body())
        na, nb = mock_stats(a)["requests"], mock_stats(b)["requests"]
        self.assertEqual(na + nb, 200)
        self.assertTrue(115 <= na <= 185, (na, nb))

    def test_route_timeout_is_504(self):
        slow = self.mock()
        gw = self.gateway([("slow", slow)],
                          model([{"provider": '"slow"', "model": '"m"', "timeout_ms": "300"}]),
                          routing="retries = 0")
        start = time.monotonic()
        status, _, body = gw.json("POST", "/v1/chat/completions",
                                  chat_body("#mock latency_ms=3000"))
        self.assertEqual(status, 504, body)
        self.assertLess(time.monotonic() - start, 2.5)
        status, _, raw = gw.request("POST", "/v1/chat/completions",
                                    chat_body("#mock latency_ms=3000", stream=True))
        self.assertEqual(status, 504, raw)

    def test_client_credentials_never_go_upstream(self):
        import os
        os.environ["BASALT_TEST_PROVIDER_KEY"] = "sk-provider-secret"
        upstream = self.mock()
        models = ('[[models]]\nname = "gpt-mock"\n[[models.routes]]\nprovider = "keyed"\n'
                  'model = "m"\n')
        providers_toml = ('[[providers]]\nname = "keyed"\ntype = "openai"\n'
                          f'base_url = "http://{upstream.address}/v1"\n'
                          'api_key_env = "BASALT_TEST_PROVIDER_KEY"\n')
        gw = self.gateway([], providers_toml + models)
        for header in ("authorization", "x-api-key"):
            value = f"Bearer {ADMIN_KEY}" if header == "authorization" else ADMIN_KEY
            status, _, _ = gw.json("POST", "/v1/chat/completions", chat_body(),
                                   {"authorization": None, header: value})
            self.assertEqual(status, 200)
            stats = mock_stats(upstream)
            self.assertEqual(stats["last_authorization"], "Bearer sk-provider-secret")
            _, _, last = upstream.request("GET", "/mock/last-request")
            self.assertNotIn(ADMIN_KEY.encode(), last)

    def test_stream_failing_midway_ends_with_error_event(self):
        flaky = self.mock()
        good = self.mock()
        gw = self.gateway([("flaky", flaky), ("good", good)],
                          model([{"provider": '"flaky"', "model": '"m"'},
                                 {"provider": '"good"', "model": '"m"', "fallback": "true"}]))
        start = time.monotonic()
        status, _, raw = gw.request(
            "POST", "/v1/chat/completions",
            chat_body("#mock error_after=2 reply=\"one two three four five\"", stream=True))
        self.assertLess(time.monotonic() - start, 5, "no hang")
        self.assertEqual(status, 200)
        events = read_sse(raw)
        self.assertEqual(events[-1], "[DONE]")
        last = json.loads(events[-2])
        self.assertIn("error", last)
        self.assertTrue(last["error"]["message"])
        self.assertEqual(mock_stats(good)["requests"], 0, "no fallback after bytes were sent")


if __name__ == "__main__":
    unittest.main()
