"""boto3 (the machine's botocore) against the real binary's Bedrock Runtime door.

The gateway routes model `gpt-mock` to `basalt mock-upstream` speaking OpenAI chat, so every call
crosses Converse -> canonical -> Chat and back. Principals, keys and policies are made with the
CLI, the way an operator would; boto3 signs with SigV4 (signing name `bedrock`) or, through
AWS_BEARER_TOKEN_BEDROCK, sends an API key as `Authorization: Bearer`.
"""
import itertools
import json
import os
import subprocess
import tempfile
import unittest
from unittest import mock as umock

from harness import ADMIN_KEY, BASALT, mock_stats, single_route_model, start_gateway, start_mock

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - depends on the machine
    boto3 = None

REGION = "us-east-1"
MODEL = "gpt-mock"
MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}"
ALLOW_INVOKE = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Invoke", "Effect": "Allow", "Action": "bedrock:InvokeModel*",
                   "Resource": MODEL_ARN}],
}
WEATHER_TOOL = {"tools": [{"toolSpec": {
    "name": "get_weather",
    "description": "Current weather for a city",
    "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"]}},
}}]}
_names = itertools.count(1)


def unique(prefix):
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


@unittest.skipIf(boto3 is None, "boto3 is not importable on this machine")
class Boto3BedrockTest(unittest.TestCase):
    PROVIDER = "openai"  # the provider type behind the Bedrock door

    @classmethod
    def setUpClass(cls):
        cls.mock = start_mock()
        cls.gw = start_gateway([("mock", cls.mock, cls.PROVIDER)], single_route_model(MODEL))
        cls.tmp = tempfile.mkdtemp(prefix="basalt-bedrock-it-")
        cls.policy = unique("invoke")
        path = os.path.join(cls.tmp, "allow.json")
        with open(path, "w") as f:
            json.dump(ALLOW_INVOKE, f)
        cls.cli_ok("policy", "put", cls.policy, path)
        # One allowed principal with a SigV4 key and an API key, shared by the tests.
        cls.allowed = unique("svc")
        cls.cli_ok("principal", "create", cls.allowed)
        cls.cli_ok("policy", "attach", cls.policy, cls.allowed)
        cls.sigv4 = cls.cli_ok("key", "create", cls.allowed, "--sigv4")
        cls.api_key = cls.cli_ok("key", "create", cls.allowed)["api_key"]

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    @classmethod
    def cli_ok(cls, *args):
        env = dict(os.environ)
        env["BASALT_URL"] = f"http://{cls.gw.address}"
        env["BASALT_ADMIN_KEY"] = ADMIN_KEY
        p = subprocess.run([BASALT, *args], env=env, capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError(f"basalt {' '.join(args)} failed: {p.stderr}")
        return json.loads(p.stdout)

    def client(self, access_key_id=None, secret=None):
        return boto3.client(
            "bedrock-runtime", region_name=REGION, endpoint_url=f"http://{self.gw.address}",
            aws_access_key_id=access_key_id or self.sigv4["access_key_id"],
            aws_secret_access_key=secret or self.sigv4["secret_access_key"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=15))

    def assertClientError(self, ctx, code, status):
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        self.assertTrue(err["Error"].get("Message"), err)

    # -- tests ------------------------------------------------------------------------------

    def test_converse_text_and_usage(self):
        out = self.client().converse(modelId=MODEL, messages=user("hello bedrock"),
                                     inferenceConfig={"maxTokens": 64})
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(out["ResponseMetadata"]["RequestId"])
        self.assertEqual(out["stopReason"], "end_turn")
        message = out["output"]["message"]
        self.assertEqual(message["role"], "assistant")
        self.assertEqual(message["content"], [{"text": "You said: hello bedrock"}])
        usage = out["usage"]
        self.assertGreater(usage["inputTokens"], 0)
        self.assertEqual(usage["outputTokens"], 4)
        self.assertEqual(usage["totalTokens"], usage["inputTokens"] + usage["outputTokens"])
        self.assertIn("latencyMs", out["metrics"])
        # The request reached the mock in the provider's own wire format.
        upstream_path = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages",
                         "bedrock": "/model/mock-model/converse"}[self.PROVIDER]
        self.assertGreaterEqual(mock_stats(self.mock)["by_path"].get(upstream_path, 0), 1)

    def test_converse_with_url_encoded_arn_model_id(self):
        # botocore percent-encodes the ARN's ':' and '/' in the path; it is signed that way too.
        out = self.client().converse(modelId=MODEL_ARN, messages=user("arn please"))
        self.assertEqual(out["output"]["message"]["content"], [{"text": "You said: arn please"}])

    def test_converse_stream_events(self):
        resp = self.client().converse_stream(modelId=MODEL,
                                             messages=user("one two three four"))
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        kinds = []
        text = ""
        stop_reason = None
        usage = None
        for event in resp["stream"]:
            (kind, body), = event.items()
            kinds.append(kind)
            if kind == "contentBlockDelta":
                text += body["delta"]["text"]
            elif kind == "messageStop":
                stop_reason = body["stopReason"]
            elif kind == "metadata":
                usage = body["usage"]
        self.assertEqual(kinds[0], "messageStart", kinds)
        self.assertEqual(kinds[-1], "metadata", kinds)
        self.assertEqual(kinds[-2], "messageStop", kinds)
        self.assertGreater(kinds.count("contentBlockDelta"), 3, kinds)
        self.assertEqual(text, "You said: one two three four")
        self.assertEqual(stop_reason, "end_turn")
        self.assertEqual(usage["outputTokens"], 6)  # the mock counts one token per word
        self.assertEqual(usage["totalTokens"], usage["inputTokens"] + usage["outputTokens"])

    def test_converse_stream_with_arn_model_id(self):
        resp = self.client().converse_stream(modelId=MODEL_ARN, messages=user("streamed arn"))
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in resp["stream"]
                       if "contentBlockDelta" in e)
        self.assertEqual(text, "You said: streamed arn")

    def test_tool_use_round_trip(self):
        client = self.client()
        messages = user('weather?\n#mock tool=get_weather args={"city":"Paris"}')
        first = client.converse(modelId=MODEL, messages=messages, toolConfig=WEATHER_TOOL)
        self.assertEqual(first["stopReason"], "tool_use")
        assistant = first["output"]["message"]
        uses = [c["toolUse"] for c in assistant["content"] if "toolUse" in c]
        self.assertEqual(len(uses), 1, assistant)
        self.assertEqual(uses[0]["name"], "get_weather")
        self.assertEqual(uses[0]["input"], {"city": "Paris"})
        self.assertTrue(uses[0]["toolUseId"])

        messages = messages + [assistant, {"role": "user", "content": [{"toolResult": {
            "toolUseId": uses[0]["toolUseId"], "content": [{"text": "sunny, 21C"}],
            "status": "success"}}]}]
        second = client.converse(modelId=MODEL, messages=messages, toolConfig=WEATHER_TOOL)
        self.assertEqual(second["stopReason"], "end_turn")
        self.assertEqual(second["output"]["message"]["content"],
                         [{"text": "Tool result: sunny, 21C"}])
        # The upstream saw the tool result answering that call, in its own format.
        status, _, body = self.mock.request("GET", "/mock/last-request")
        self.assertEqual(status, 200)
        last = json.loads(body)["body"]["messages"][-1]
        if self.PROVIDER == "openai":
            self.assertEqual(last["role"], "tool")
            self.assertEqual(last["tool_call_id"], uses[0]["toolUseId"])
        elif self.PROVIDER == "anthropic":
            self.assertEqual(last["role"], "user")
            self.assertEqual(last["content"][0]["type"], "tool_result")
            self.assertTrue(last["content"][0]["tool_use_id"])
        else:
            self.assertEqual(last["content"][0]["toolResult"]["toolUseId"], uses[0]["toolUseId"])

    def test_converse_stream_tool_use(self):
        messages = user('weather?\n#mock tool=get_weather args={"city":"Oslo"}')
        resp = self.client().converse_stream(modelId=MODEL, messages=messages,
                                             toolConfig=WEATHER_TOOL)
        starts = []
        fragments = []
        stop_reason = None
        for event in resp["stream"]:
            if "contentBlockStart" in event:
                starts.append(event["contentBlockStart"]["start"]["toolUse"])
            elif "contentBlockDelta" in event:
                fragments.append(event["contentBlockDelta"]["delta"]["toolUse"]["input"])
            elif "messageStop" in event:
                stop_reason = event["messageStop"]["stopReason"]
        self.assertEqual(len(starts), 1, starts)
        self.assertEqual(starts[0]["name"], "get_weather")
        self.assertTrue(starts[0]["toolUseId"])
        self.assertEqual(json.loads("".join(fragments)), {"city": "Oslo"})
        self.assertEqual(stop_reason, "tool_use")

    def test_wrong_secret_is_invalid_signature(self):
        client = self.client(secret="x" * 40)
        with self.assertRaises(ClientError) as ctx:
            client.converse(modelId=MODEL, messages=user("hi"))
        self.assertClientError(ctx, "InvalidSignatureException", 403)

    def test_unknown_access_key_is_unrecognized_client(self):
        client = self.client(access_key_id="AKIA" + "Z" * 16)
        with self.assertRaises(ClientError) as ctx:
            client.converse(modelId=MODEL, messages=user("hi"))
        # DESIGN.md: unknown credentials are 401 (AWS answers 403; botocore keys on the code).
        self.assertClientError(ctx, "UnrecognizedClientException", 401)

    def test_principal_without_policy_is_denied(self):
        name = unique("nopolicy")
        self.cli_ok("principal", "create", name)
        key = self.cli_ok("key", "create", name, "--sigv4")
        client = self.client(key["access_key_id"], key["secret_access_key"])
        with self.assertRaises(ClientError) as ctx:
            client.converse(modelId=MODEL, messages=user("hi"))
        self.assertClientError(ctx, "AccessDeniedException", 403)
        with self.assertRaises(ClientError) as ctx:
            client.converse_stream(modelId=MODEL, messages=user("hi"))
        self.assertClientError(ctx, "AccessDeniedException", 403)

    def test_unknown_model_is_resource_not_found(self):
        # Allowed on every foundation model, so the refusal is about the model, not the policy.
        name = unique("anymodel")
        self.cli_ok("principal", "create", name)
        policy = unique("invoke-any")
        path = os.path.join(self.tmp, policy + ".json")
        doc = json.loads(json.dumps(ALLOW_INVOKE))
        doc["Statement"][0]["Resource"] = f"arn:aws:bedrock:{REGION}::foundation-model/*"
        with open(path, "w") as f:
            json.dump(doc, f)
        self.cli_ok("policy", "put", policy, path)
        self.cli_ok("policy", "attach", policy, name)
        key = self.cli_ok("key", "create", name, "--sigv4")
        client = self.client(key["access_key_id"], key["secret_access_key"])
        with self.assertRaises(ClientError) as ctx:
            client.converse(modelId="no-such-model", messages=user("hi"))
        self.assertClientError(ctx, "ResourceNotFoundException", 404)

    def test_bearer_api_key_from_environment(self):
        # The session's access keys are unknown to the gateway: the call only succeeds if boto3
        # sends the API key from AWS_BEARER_TOKEN_BEDROCK instead of signing with them.
        sent = []
        with umock.patch.dict(os.environ, {"AWS_BEARER_TOKEN_BEDROCK": self.api_key}):
            session = boto3.session.Session(
                aws_access_key_id="AKIA" + "U" * 16, aws_secret_access_key="u" * 40)
            client = session.client(
                "bedrock-runtime", region_name=REGION, endpoint_url=f"http://{self.gw.address}",
                config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=15))
            client.meta.events.register(
                "before-send.bedrock-runtime.Converse",
                lambda request, **_: sent.append(request.headers.get("Authorization")))
            out = client.converse(modelId=MODEL, messages=user("bearer hello"))
        self.assertEqual(out["output"]["message"]["content"], [{"text": "You said: bearer hello"}])
        self.assertEqual(len(sent), 1)
        auth = sent[0].decode() if isinstance(sent[0], bytes) else sent[0]
        self.assertEqual(auth, f"Bearer {self.api_key}")

    def test_bearer_unknown_api_key_is_refused(self):
        with umock.patch.dict(os.environ, {"AWS_BEARER_TOKEN_BEDROCK": "bsk-not-a-real-key"}):
            client = boto3.client(
                "bedrock-runtime", region_name=REGION, endpoint_url=f"http://{self.gw.address}",
                config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=15))
            with self.assertRaises(ClientError) as ctx:
                client.converse(modelId=MODEL, messages=user("hi"))
        self.assertClientError(ctx, "UnrecognizedClientException", 401)


class Boto3BedrockOverAnthropicTest(Boto3BedrockTest):
    """The same client tests with an Anthropic provider behind the Bedrock door."""
    PROVIDER = "anthropic"


class Boto3BedrockOverBedrockTest(Boto3BedrockTest):
    """And with a Bedrock provider (SigV4 outbound, event-stream decoded and re-encoded)."""
    PROVIDER = "bedrock"


if __name__ == "__main__":
    unittest.main()
