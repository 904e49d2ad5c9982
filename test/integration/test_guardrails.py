"""Guardrails on the Chat Completions door: input anonymized before the provider sees it,
blocked input never reaches it, output filtered in streams too."""
import json
import unittest

from harness import chat_body, mock_stats, read_sse, start_gateway, start_mock

GUARDRAIL = '''
[[guardrails]]
name = "pii"
apply_to = ["input", "output"]
pii = { EMAIL = "anonymize", CREDIT_DEBIT_CARD_NUMBER = "block" }
words = ["project-falcon"]
regexes = [{ name = "ticket", pattern = "TKT-[0-9]+", action = "anonymize" }]
blocked_message = "Sorry, this request was blocked by policy."
'''


class GuardrailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = start_mock()
        # A second upstream whose reply holds an address the client never sent, streamed in
        # 3-character chunks, so only the output guardrail can mask it.
        cls.leaky = start_mock("--reply", "write to bob@example.org today", "--chunk", "3")
        models = ('[[models]]\nname = "gpt-mock"\nguardrail = "pii"\n[[models.routes]]\n'
                  'provider = "mock"\nmodel = "m"\n'
                  '[[models]]\nname = "gpt-leaky"\nguardrail = "pii"\n[[models.routes]]\n'
                  'provider = "leaky"\nmodel = "m"\n' + GUARDRAIL)
        cls.gw = start_gateway([("mock", cls.mock), ("leaky", cls.leaky)], models)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()
        cls.leaky.stop()

    def test_input_is_anonymized_before_the_provider(self):
        status, _, body = self.gw.json("POST", "/v1/chat/completions",
                                       chat_body("mail alice@example.com about TKT-42"))
        self.assertEqual(status, 200, body)
        content = body["choices"][0]["message"]["content"]
        self.assertEqual(content, "You said: mail {EMAIL} about {ticket}")
        _, _, last = self.mock.request("GET", "/mock/last-request")
        self.assertNotIn(b"alice@example.com", last)

    def test_blocked_input_never_reaches_the_provider(self):
        before = mock_stats(self.mock)["requests"]
        status, _, body = self.gw.json("POST", "/v1/chat/completions",
                                       chat_body("card 4111 1111 1111 1111 please"))
        self.assertEqual(status, 200, body)
        choice = body["choices"][0]
        self.assertEqual(choice["finish_reason"], "content_filter")
        self.assertEqual(choice["message"]["content"], "Sorry, this request was blocked by policy.")
        self.assertEqual(mock_stats(self.mock)["requests"], before)

    def test_blocked_word_in_a_stream(self):
        status, _, raw = self.gw.request("POST", "/v1/chat/completions",
                                         chat_body("tell me about Project-Falcon", stream=True))
        self.assertEqual(status, 200)
        events = read_sse(raw)
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        self.assertIn("content_filter", finishes)

    def test_output_anonymized_across_stream_chunks(self):
        body = chat_body("hello", stream=True)
        body["model"] = "gpt-leaky"
        status, _, raw = self.gw.request("POST", "/v1/chat/completions", body)
        self.assertEqual(status, 200)
        events = read_sse(raw)
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                       for e in events[:-1] if json.loads(e)["choices"])
        self.assertEqual(text, "write to {EMAIL} today")
        self.assertGreater(len(events), 6, "the reply arrived in several chunks")
        body = chat_body("hello")
        body["model"] = "gpt-leaky"
        status, _, resp = self.gw.json("POST", "/v1/chat/completions", body)
        self.assertEqual(resp["choices"][0]["message"]["content"], "write to {EMAIL} today")


if __name__ == "__main__":
    unittest.main()
