"""The translation matrix: every front door against every provider type, through the real binary.

Doors: Chat Completions, Responses, Messages, Bedrock Converse and InvokeModel (Claude body).
For each (door, provider) pair: a text answer, a streamed text answer, a tool call and a
streamed tool call, then the tool-result round trip. Each door's answer is reduced to the same
normal form (text, tool calls, stop, usage) and must equal what the scripted mock upstream said,
so a translation that loses or bends anything in either direction fails here.
"""
import base64
import json
import struct
import unittest

from harness import ADMIN_KEY, Process, start_mock

WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "schema": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}
TOOL_DIRECTIVE = '#mock tool=get_weather args={"city": "Paris"} usage=11,3'
TEXT_DIRECTIVE = '#mock reply="The sky is blue." usage=10,4'


def sse_events(raw):
    """(event name or None, parsed data) for each SSE block."""
    out = []
    for block in raw.decode().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data and data[0] != "[DONE]":
            out.append((name, json.loads("\n".join(data))))
    return out


def event_stream_messages(raw):
    """Decodes AWS event-stream frames: [(headers dict, payload bytes)]."""
    out, pos = [], 0
    while pos < len(raw):
        total, hlen = struct.unpack(">II", raw[pos:pos + 8])
        headers, h = {}, pos + 12
        end_headers = h + hlen
        while h < end_headers:
            nlen = raw[h]
            name = raw[h + 1:h + 1 + nlen].decode()
            h += 1 + nlen
            vtype = raw[h]
            h += 1
            assert vtype == 7, f"header type {vtype}"
            vlen = struct.unpack(">H", raw[h:h + 2])[0]
            headers[name] = raw[h + 2:h + 2 + vlen].decode()
            h += 2 + vlen
        out.append((headers, raw[end_headers:pos + total - 4]))
        pos += total
    return out


class Normal:
    """A door's answer in one shape: text, [(id, name, args)], stop ('end'|'tool'), usage."""

    def __init__(self):
        self.text, self.calls, self.stop, self.usage = "", [], None, None

    def __repr__(self):
        return f"Normal(text={self.text!r}, calls={self.calls}, stop={self.stop}, usage={self.usage})"


# ---- doors: request builders and answer readers -------------------------------------------

class ChatDoor:
    name = "chat"

    def request(self, model, text, tools, stream, history=None):
        messages = history or [{"role": "user", "content": text}]
        body = {"model": model, "messages": messages, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t["name"], "description": t["description"], "parameters": t["schema"]}}
                for t in tools]
        return "/v1/chat/completions", body

    def read(self, raw, stream):
        n = Normal()
        if not stream:
            body = json.loads(raw)
            choice = body["choices"][0]
            n.text = choice["message"].get("content") or ""
            for c in choice["message"].get("tool_calls") or []:
                n.calls.append((c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])))
            n.stop = {"stop": "end", "tool_calls": "tool"}[choice["finish_reason"]]
            n.usage = (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"])
            return n
        calls = {}
        for _, chunk in sse_events(raw):
            assert "error" not in chunk, chunk
            if chunk.get("usage"):
                n.usage = (chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"])
            for choice in chunk["choices"]:
                delta = choice.get("delta", {})
                n.text += delta.get("content") or ""
                for tc in delta.get("tool_calls") or []:
                    c = calls.setdefault(tc["index"], {"id": "", "name": "", "args": ""})
                    c["id"] += tc.get("id", "")
                    c["name"] += tc.get("function", {}).get("name", "")
                    c["args"] += tc.get("function", {}).get("arguments", "")
                if choice.get("finish_reason"):
                    n.stop = {"stop": "end", "tool_calls": "tool"}[choice["finish_reason"]]
        n.calls = [(c["id"], c["name"], json.loads(c["args"])) for _, c in sorted(calls.items())]
        return n

    def tool_history(self, text, call, result):
        call_id, name, args = call
        return [{"role": "user", "content": text},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": call_id, "type": "function",
                     "function": {"name": name, "arguments": json.dumps(args)}}]},
                {"role": "tool", "tool_call_id": call_id, "content": result}]


class ResponsesDoor:
    name = "responses"

    def request(self, model, text, tools, stream, history=None):
        body = {"model": model, "input": history or [{"role": "user", "content": text}],
                "stream": stream, "store": False}
        if tools:
            body["tools"] = [{"type": "function", "name": t["name"],
                              "description": t["description"], "parameters": t["schema"]}
                             for t in tools]
        return "/v1/responses", body

    def _from_response(self, n, response):
        for item in response["output"]:
            if item["type"] == "message":
                n.text = "".join(p["text"] for p in item["content"] if p["type"] == "output_text")
            elif item["type"] == "function_call":
                n.calls.append((item["call_id"], item["name"], json.loads(item["arguments"])))
        assert response["status"] == "completed", response
        n.stop = "tool" if n.calls else "end"
        u = response["usage"]
        assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"], u
        assert "cached_tokens" in u["input_tokens_details"], u
        assert "reasoning_tokens" in u["output_tokens_details"], u
        n.usage = (u["input_tokens"], u["output_tokens"])

    def read(self, raw, stream):
        n = Normal()
        if not stream:
            self._from_response(n, json.loads(raw))
            return n
        events = sse_events(raw)
        assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
        assert events[-1][1]["type"] == "response.completed", events[-1]
        deltas = "".join(d["delta"] for _, d in events if d["type"] == "response.output_text.delta")
        self._from_response(n, events[-1][1]["response"])
        assert deltas == n.text, (deltas, n.text)
        done_calls = [d["item"] for _, d in events if d["type"] == "response.output_item.done"
                      and d["item"]["type"] == "function_call"]
        assert [(c["call_id"], c["name"]) for c in done_calls] == [c[:2] for c in n.calls]
        return n

    def tool_history(self, text, call, result):
        call_id, name, args = call
        return [{"role": "user", "content": text},
                {"type": "function_call", "call_id": call_id, "name": name,
                 "arguments": json.dumps(args)},
                {"type": "function_call_output", "call_id": call_id, "output": result}]


class MessagesDoor:
    name = "messages"

    def request(self, model, text, tools, stream, history=None):
        body = {"model": model, "max_tokens": 256, "stream": stream,
                "messages": history or [{"role": "user", "content": text}]}
        if tools:
            body["tools"] = [{"name": t["name"], "description": t["description"],
                              "input_schema": t["schema"]} for t in tools]
        return "/v1/messages", body

    def read(self, raw, stream):
        n = Normal()
        stops = {"end_turn": "end", "tool_use": "tool"}
        if not stream:
            body = json.loads(raw)
            for block in body["content"]:
                if block["type"] == "text":
                    n.text += block["text"]
                elif block["type"] == "tool_use":
                    n.calls.append((block["id"], block["name"], block["input"]))
            n.stop = stops[body["stop_reason"]]
            n.usage = (body["usage"]["input_tokens"], body["usage"]["output_tokens"])
            return n
        events = sse_events(raw)
        names = [name for name, _ in events]
        assert names[0] == "message_start" and names[-1] == "message_stop", names
        assert all(name == d["type"] for name, d in events), names
        blocks, usage_in = {}, None
        for name, d in events:
            if name == "message_start":
                usage_in = d["message"]["usage"]["input_tokens"]
            elif name == "content_block_start":
                blocks[d["index"]] = dict(d["content_block"], partial="")
            elif name == "content_block_delta":
                delta = d["delta"]
                if delta["type"] == "text_delta":
                    n.text += delta["text"]
                elif delta["type"] == "input_json_delta":
                    blocks[d["index"]]["partial"] += delta["partial_json"]
            elif name == "message_delta":
                n.stop = stops[d["delta"]["stop_reason"]]
                n.usage = (d["usage"].get("input_tokens", usage_in), d["usage"]["output_tokens"])
            elif name == "error":
                raise AssertionError(d)
        for _, b in sorted(blocks.items()):
            if b["type"] == "tool_use":
                n.calls.append((b["id"], b["name"], json.loads(b["partial"] or "{}")))
        return n

    def tool_history(self, text, call, result):
        call_id, name, args = call
        return [{"role": "user", "content": text},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": call_id, "name": name, "input": args}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": call_id, "content": result}]}]


class ConverseDoor:
    name = "converse"

    def request(self, model, text, tools, stream, history=None):
        body = {"messages": history or [{"role": "user", "content": [{"text": text}]}]}
        if tools:
            body["toolConfig"] = {"tools": [{"toolSpec": {
                "name": t["name"], "description": t["description"],
                "inputSchema": {"json": t["schema"]}}} for t in tools]}
        return f"/model/{model}/{'converse-stream' if stream else 'converse'}", body

    def read(self, raw, stream):
        n = Normal()
        stops = {"end_turn": "end", "tool_use": "tool"}
        if not stream:
            body = json.loads(raw)
            for block in body["output"]["message"]["content"]:
                if "text" in block:
                    n.text += block["text"]
                elif "toolUse" in block:
                    t = block["toolUse"]
                    n.calls.append((t["toolUseId"], t["name"], t["input"]))
            n.stop = stops[body["stopReason"]]
            n.usage = (body["usage"]["inputTokens"], body["usage"]["outputTokens"])
            return n
        tools = {}
        for headers, payload in event_stream_messages(raw):
            assert headers[":message-type"] == "event", (headers, payload)
            d = json.loads(payload)
            kind = headers[":event-type"]
            if kind == "contentBlockStart" and "toolUse" in d["start"]:
                tools[d["contentBlockIndex"]] = dict(d["start"]["toolUse"], input="")
            elif kind == "contentBlockDelta":
                if "text" in d["delta"]:
                    assert d["delta"]["text"] != ""
                    n.text += d["delta"]["text"]
                elif "toolUse" in d["delta"]:
                    tools[d["contentBlockIndex"]]["input"] += d["delta"]["toolUse"]["input"]
            elif kind == "messageStop":
                n.stop = stops[d["stopReason"]]
            elif kind == "metadata":
                n.usage = (d["usage"]["inputTokens"], d["usage"]["outputTokens"])
        n.calls = [(t["toolUseId"], t["name"], json.loads(t["input"] or "{}"))
                   for _, t in sorted(tools.items())]
        return n

    def tool_history(self, text, call, result):
        call_id, name, args = call
        return [{"role": "user", "content": [{"text": text}]},
                {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": call_id, "name": name, "input": args}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": call_id, "content": [{"text": result}]}}]}]


class InvokeDoor(MessagesDoor):
    """Bedrock InvokeModel with Claude's native body; streams are base64 `chunk` events."""
    name = "invoke"

    def request(self, model, text, tools, stream, history=None):
        _, body = super().request(model, text, tools, stream, history)
        del body["model"], body["stream"]
        body["anthropic_version"] = "bedrock-2023-05-31"
        op = "invoke-with-response-stream" if stream else "invoke"
        return f"/model/{model}/{op}", body

    def read(self, raw, stream):
        if not stream:
            return super().read(raw, False)
        sse = b""
        for headers, payload in event_stream_messages(raw):
            assert headers[":message-type"] == "event" and headers[":event-type"] == "chunk", headers
            event = json.loads(base64.b64decode(json.loads(payload)["bytes"]))
            sse += f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        return super().read(sse, True)


DOORS = [ChatDoor(), ResponsesDoor(), MessagesDoor(), ConverseDoor(), InvokeDoor()]

# (name, TOML of the [[providers]] entry given the mock address)
PROVIDERS = [
    ("openai_chat", 'type = "openai"\nbase_url = "http://{addr}/v1"\napi_key_env = "MATRIX_KEY"'),
    ("openai_responses",
     'type = "openai"\napi = "responses"\nbase_url = "http://{addr}/v1"\napi_key_env = "MATRIX_KEY"'),
    ("azure", 'type = "azure-openai"\nbase_url = "http://{addr}"\napi_version = "2024-10-21"\n'
              'api_key_env = "MATRIX_KEY"'),
    ("anthropic", 'type = "anthropic"\nbase_url = "http://{addr}"\napi_key_env = "MATRIX_KEY"'),
    ("bedrock", 'type = "bedrock"\nregion = "us-east-1"\nbase_url = "http://{addr}"\n'
                'access_key_env = "MATRIX_AK"\nsecret_key_env = "MATRIX_SK"'),
]


class TranslationMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import os
        import tempfile
        cls.mock = start_mock()
        tmp = tempfile.mkdtemp(prefix="basalt-matrix-")
        lines = [f'data_dir = "{tmp}/data"', "[server]", 'listen = "127.0.0.1:0"', "threads = 2"]
        for name, toml in PROVIDERS:
            lines += ["[[providers]]", f'name = "{name}"', toml.format(addr=cls.mock.address)]
        for name, _ in PROVIDERS:
            lines += ["[[models]]", f'name = "m-{name}"', "[[models.routes]]",
                      f'provider = "{name}"', f'model = "upstream-{name}"']
        path = os.path.join(tmp, "basalt.toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        cls.gw = Process(["serve", "--config", path],
                         env={"MATRIX_KEY": "sk-matrix", "MATRIX_AK": "AKIDMATRIX",
                              "MATRIX_SK": "matrix-secret"})

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    def call(self, door, provider, text, tools=None, stream=False, history=None):
        path, body = door.request(f"m-{provider}", text, tools, stream, history)
        status, _, raw = self.gw.request("POST", path, body, timeout=20)
        self.assertEqual(status, 200, f"{door.name}->{provider}: {raw[:500]!r}")
        return door.read(raw, stream)

    def test_text(self):
        for door in DOORS:
            for provider, _ in PROVIDERS:
                for stream in (False, True):
                    with self.subTest(door=door.name, provider=provider, stream=stream):
                        n = self.call(door, provider, "Colour?\n" + TEXT_DIRECTIVE, stream=stream)
                        self.assertEqual(n.text, "The sky is blue.")
                        self.assertEqual(n.calls, [])
                        self.assertEqual(n.stop, "end")
                        self.assertEqual(n.usage, (10, 4))

    def test_tool_call_round_trip(self):
        for door in DOORS:
            for provider, _ in PROVIDERS:
                for stream in (False, True):
                    with self.subTest(door=door.name, provider=provider, stream=stream):
                        text = "Weather in Paris?\n" + TOOL_DIRECTIVE
                        n = self.call(door, provider, text, [WEATHER_TOOL], stream)
                        self.assertEqual(n.stop, "tool")
                        self.assertEqual(len(n.calls), 1, n)
                        call_id, name, args = n.calls[0]
                        self.assertTrue(call_id)
                        self.assertEqual((name, args), ("get_weather", {"city": "Paris"}))
                        self.assertEqual(n.usage, (11, 3))
                        # The result goes back through the same door with the id it gave.
                        history = door.tool_history("Weather in Paris?", n.calls[0], "sunny, 21C")
                        after = self.call(door, provider, "", [WEATHER_TOOL], stream, history)
                        self.assertEqual(after.text, "Tool result: sunny, 21C")
                        self.assertEqual(after.stop, "end")
                        self.assertIsNotNone(after.usage)

    def test_a_tool_result_without_its_call_is_refused_by_every_door(self):
        for door in DOORS:
            with self.subTest(door=door.name):
                history = door.tool_history("Weather?", ("call_zz9", "get_weather", {}), "sunny")
                del history[1]  # the assistant turn that made the call
                path, body = door.request("m-openai_chat", "", [WEATHER_TOOL], False, history)
                status, headers, raw = self.gw.request("POST", path, body)
                self.assertEqual(status, 400, raw[:300])
                if door.name != "converse":  # Converse refuses the two user turns in a row first
                    self.assertIn(b"call_zz9", raw)
                if door.name in ("converse", "invoke"):
                    self.assertEqual(headers.get("x-amzn-errortype"), "ValidationException")


if __name__ == "__main__":
    unittest.main()
