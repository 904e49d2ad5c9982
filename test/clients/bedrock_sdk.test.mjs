// @aws-sdk/client-bedrock-runtime (AWS SDK for JavaScript v3) against the real basalt binary's
// Bedrock Runtime door, with static SigV4 credentials made through the basalt CLI.
//
// The SDK's default request handler for Bedrock Runtime is NodeHttp2Handler: with an http://
// endpoint it speaks h2c with prior knowledge (no Upgrade), so the default client exercises the
// gateway's cleartext HTTP/2 path; a second client forces HTTP/1.1 with NodeHttpHandler.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { ADMIN_KEY, BASALT, startGateway } from './harness.mjs';

const REGION = 'us-east-1';
const MODEL = 'gpt-mock';
const MODEL_ARN = `arn:aws:bedrock:${REGION}::foundation-model/${MODEL}`;

let gw;
let allowed; // {access_key_id, secret_access_key} of a principal allowed to invoke gpt-mock
let denied; // the same for a principal with no policy
let apiKey; // an API key of the allowed principal (Authorization: Bearer)

// HTTP/1.1 requests Node's http module started (the h2 handler never goes through it).
let http1Requests = 0;
const onHttp1Request = () => { http1Requests += 1; };

/// Runs `basalt ARGS` against the gateway's admin API and returns its parsed JSON output.
function cli(...args) {
  const p = spawnSync(BASALT, args, {
    env: { ...process.env, BASALT_URL: `http://${gw.address}`, BASALT_ADMIN_KEY: ADMIN_KEY },
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(p.status, 0, `basalt ${args.join(' ')}: ${p.stderr}`);
  return JSON.parse(p.stdout);
}

function principalWithSigv4Key(name) {
  cli('principal', 'create', name);
  return cli('key', 'create', name, '--sigv4');
}

/// A client for the gateway; `http1` swaps the default NodeHttp2Handler for NodeHttpHandler.
function client(key, { http1 = false, secret } = {}) {
  return new BedrockRuntimeClient({
    region: REGION,
    endpoint: `http://${gw.address}`,
    maxAttempts: 1,
    credentials: {
      accessKeyId: key.access_key_id,
      secretAccessKey: secret ?? key.secret_access_key,
    },
    ...(http1 ? { requestHandler: new NodeHttpHandler({ requestTimeout: 15000 }) } : {}),
  });
}

function user(text) {
  return [{ role: 'user', content: [{ text }] }];
}

/// Sends `command` and returns [result, HTTP/1.1 requests Node's http module made meanwhile].
async function sendCounting(c, command) {
  const before = http1Requests;
  const out = await c.send(command);
  return [out, http1Requests - before];
}

// The same client tests with each provider type behind the Bedrock door: OpenAI Chat (the
// request is translated both ways) and Anthropic Messages.
for (const provider of ['openai', 'anthropic']) {
  describe(`Bedrock door, provider ${provider}`, () => {
    before(async () => {
      diagnostics.subscribe('http.client.request.start', onHttp1Request);
      gw = await startGateway({ provider });
      const suffix = `${process.pid}`;
      const dir = mkdtempSync(path.join(tmpdir(), 'basalt-bedrock-sdk-'));
      const policyFile = path.join(dir, 'allow.json');
      writeFileSync(policyFile, JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'bedrock:InvokeModel*', Resource: MODEL_ARN }],
      }));
      cli('policy', 'put', `invoke-${suffix}`, policyFile);
      allowed = principalWithSigv4Key(`sdk-${suffix}`);
      cli('policy', 'attach', `invoke-${suffix}`, `sdk-${suffix}`);
      denied = principalWithSigv4Key(`sdk-nopolicy-${suffix}`);
      apiKey = cli('key', 'create', `sdk-${suffix}`).api_key;
    });

    after(async () => {
      diagnostics.unsubscribe('http.client.request.start', onHttp1Request);
      await gw?.stop();
    });

    async function checkConverse(c, modelId, text) {
      const [out, h1] = await sendCounting(c, new ConverseCommand({
        modelId,
        messages: user(text),
        inferenceConfig: { maxTokens: 64 },
      }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(out.$metadata.requestId, 'x-amzn-RequestId reaches $metadata');
      assert.equal(out.stopReason, 'end_turn');
      assert.equal(out.output.message.role, 'assistant');
      assert.deepEqual(out.output.message.content, [{ text: `You said: ${text}` }]);
      assert.ok(out.usage.inputTokens > 0);
      assert.equal(out.usage.outputTokens, text.split(' ').length + 2); // one token per word
      assert.equal(out.usage.totalTokens, out.usage.inputTokens + out.usage.outputTokens);
      return h1;
    }

    async function checkConverseStream(c, modelId, text) {
      const [out, h1] = await sendCounting(c, new ConverseStreamCommand({
        modelId,
        messages: user(text),
      }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      const kinds = [];
      let streamed = '';
      let stopReason;
      let usage;
      for await (const event of out.stream) {
        const kind = Object.keys(event).filter((k) => event[k] !== undefined)[0];
        kinds.push(kind);
        if (kind === 'contentBlockDelta') streamed += event.contentBlockDelta.delta.text;
        if (kind === 'messageStop') stopReason = event.messageStop.stopReason;
        if (kind === 'metadata') usage = event.metadata.usage;
      }
      assert.equal(kinds[0], 'messageStart', kinds.join(','));
      assert.equal(kinds.at(-2), 'messageStop', kinds.join(','));
      assert.equal(kinds.at(-1), 'metadata', kinds.join(','));
      assert.ok(kinds.filter((k) => k === 'contentBlockDelta').length > 3, kinds.join(','));
      assert.equal(streamed, `You said: ${text}`);
      assert.equal(stopReason, 'end_turn');
      assert.equal(usage.outputTokens, text.split(' ').length + 2);
      assert.equal(usage.totalTokens, usage.inputTokens + usage.outputTokens);
      return h1;
    }

    test('default handler is HTTP/2 (h2c prior knowledge): Converse and ConverseStream', async () => {
      const c = client(allowed);
      assert.ok(c.config.requestHandler instanceof NodeHttp2Handler,
        `default handler is ${c.config.requestHandler?.constructor?.name}`);
      const seen = captureAuthorization(c);
      try {
        assert.equal(await checkConverse(c, MODEL, 'hello over h2'), 0, 'no HTTP/1.1 request');
        assert.equal(await checkConverse(c, MODEL_ARN, 'arn over h2'), 0);
        assert.equal(await checkConverseStream(c, MODEL, 'one two three four'), 0);
        assert.equal(await checkConverseStream(c, MODEL_ARN, 'streamed arn over h2'), 0);
        assert.equal(seen.length, 4);
        for (const auth of seen) {
          assert.match(auth, new RegExp(`^AWS4-HMAC-SHA256 Credential=${allowed.access_key_id}/\\d{8}/`
            + `${REGION}/bedrock/aws4_request, SignedHeaders=`));
        }
      } finally {
        c.destroy();
      }
    });

    test('NodeHttpHandler (HTTP/1.1): Converse and ConverseStream', async () => {
      const c = client(allowed, { http1: true });
      try {
        assert.equal(await checkConverse(c, MODEL, 'hello over http1'), 1, 'one HTTP/1.1 request');
        assert.equal(await checkConverse(c, MODEL_ARN, 'arn over http1'), 1);
        assert.equal(await checkConverseStream(c, MODEL, 'five six seven eight'), 1);
      } finally {
        c.destroy();
      }
    });

    for (const http1 of [false, true]) {
      const proto = http1 ? 'HTTP/1.1' : 'HTTP/2';

      test(`wrong secret -> InvalidSignatureException 403 (${proto})`, async () => {
        const c = client(allowed, { http1, secret: 'x'.repeat(40) });
        try {
          for (const command of [new ConverseCommand({ modelId: MODEL, messages: user('hi') }),
            new ConverseStreamCommand({ modelId: MODEL, messages: user('hi') })]) {
            await assert.rejects(c.send(command), (err) => {
              // Not a modeled Bedrock Runtime error, so the SDK raises its service base class.
              assert.ok(err instanceof BedrockRuntimeServiceException, String(err));
              assert.equal(err.name, 'InvalidSignatureException');
              assert.equal(err.$metadata.httpStatusCode, 403);
              assert.ok(err.message);
              return true;
            });
          }
        } finally {
          c.destroy();
        }
      });

      test(`principal without a policy -> AccessDeniedException (${proto})`, async () => {
        const c = client(denied, { http1 });
        try {
          await assert.rejects(c.send(new ConverseCommand({ modelId: MODEL, messages: user('hi') })),
            (err) => {
              assert.ok(err instanceof AccessDeniedException, String(err));
              assert.equal(err.$metadata.httpStatusCode, 403);
              return true;
            });
        } finally {
          c.destroy();
        }
      });
    }

    /// Records the Authorization header of each request the client sends, after signing.
    function captureAuthorization(c) {
      const seen = [];
      c.middlewareStack.add((next) => async (args) => {
        seen.push(args.request.headers.authorization ?? args.request.headers.Authorization);
        return next(args);
      }, { step: 'deserialize', name: 'captureAuthorization' });
      return seen;
    }

    for (const http1 of [false, true]) {
      const proto = http1 ? 'HTTP/1.1' : 'HTTP/2';

      test(`API key from AWS_BEARER_TOKEN_BEDROCK is sent as a bearer token (${proto})`, async () => {
        const saved = process.env.AWS_BEARER_TOKEN_BEDROCK;
        process.env.AWS_BEARER_TOKEN_BEDROCK = apiKey;
        let c;
        try {
          // Access keys unknown to the gateway: only the bearer token can make this succeed.
          c = client({ access_key_id: `AKIA${'U'.repeat(16)}`, secret_access_key: 'u'.repeat(40) },
            { http1 });
          const seen = captureAuthorization(c);
          assert.equal(await checkConverse(c, MODEL, 'bearer hello'), http1 ? 1 : 0);
          assert.equal(await checkConverseStream(c, MODEL, 'bearer stream here'), http1 ? 1 : 0);
          assert.deepEqual(seen, [`Bearer ${apiKey}`, `Bearer ${apiKey}`]);
        } finally {
          c?.destroy();
          if (saved === undefined) delete process.env.AWS_BEARER_TOKEN_BEDROCK;
          else process.env.AWS_BEARER_TOKEN_BEDROCK = saved;
        }
      });
    }
  });
}
