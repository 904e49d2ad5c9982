// The official `@anthropic-ai/sdk` npm package against the real basalt binary's Messages door
// (`/v1/messages`, `/v1/messages/count_tokens`), once per provider type behind it (mock-upstream
// plays the provider).
//
// SDK 1.x sends `apiKey` as `Authorization: Bearer` (as it does `authToken`); `x-api-key`, what
// Claude Code and the 0.x SDKs send, is covered by a client that sets that header by hand.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { ADMIN_KEY, DIRECT, PROVIDER_KEY, providersUnderTest, startTarget } from './harness.mjs';

/// Authentication and routing need the gateway: skipped against the bare mock.
const gatewayOnly = { skip: DIRECT && 'needs the gateway' };

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function text(message) {
  return message.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}

function checkUsage(usage, outputTokens) {
  assert.ok(usage, 'usage is present');
  assert.ok(Number.isInteger(usage.input_tokens) && usage.input_tokens > 0, JSON.stringify(usage));
  if (outputTokens !== undefined) assert.equal(usage.output_tokens, outputTokens);
  else assert.ok(Number.isInteger(usage.output_tokens) && usage.output_tokens > 0);
}

function newClient(gw, options = {}) {
  // The SDK appends /v1/messages itself: its base URL is the server root.
  return new Anthropic({ baseURL: gw.url, maxRetries: 0, timeout: 20000, ...options });
}

// Each provider type the door must work with (harness PROVIDERS).
for (const provider of providersUnderTest(['anthropic', 'openai', 'openai-responses'])) {
  describe(`Messages door, provider ${provider}`, () => {
    let gw;
    let client;

    before(async () => {
      gw = await startTarget({ provider });
      client = newClient(gw, { apiKey: ADMIN_KEY });
    });

    after(async () => { await gw?.stop(); });

    test('messages.create non-stream: text block, stop reason, usage', async () => {
      const { data: msg, response } = await client.messages.create({
        model: 'gpt-mock',
        max_tokens: 256,
        system: 'be brief',
        messages: [{ role: 'user', content: 'hello there' }],
      }).withResponse();
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.match(msg.id, /^msg_/);
      assert.equal(msg.model, 'gpt-mock');
      assert.equal(msg.content.length, 1);
      assert.deepEqual({ type: msg.content[0].type, text: msg.content[0].text },
        { type: 'text', text: 'You said: hello there' });
      assert.equal(msg.stop_reason, 'end_turn');
      checkUsage(msg.usage, 4);
      if (!gw.direct) {
        assert.ok(response.headers.get('x-request-id') || response.headers.get('request-id'));
        // The gateway called the provider type under test, with its own key.
        const stats = await gw.mock.stats();
        assert.ok(stats.by_path[gw.provider.path] >= 1, JSON.stringify(stats));
        const last = await gw.mock.lastRequest();
        const key = last.headers['x-api-key'] ?? last.headers.authorization;
        assert.ok(key?.includes(PROVIDER_KEY), `provider key reached the mock: ${key}`);
        assert.ok(!JSON.stringify(last.headers).includes(ADMIN_KEY), 'the client key is not forwarded');
      }
    });

    test('messages.stream(): text deltas, event order, finalMessage()', async () => {
      const stream = client.messages.stream({
        model: 'gpt-mock',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'one two three four' }],
      });
      const deltas = [];
      const events = [];
      stream.on('text', (delta) => deltas.push(delta));
      stream.on('streamEvent', (ev) => events.push(ev.type));
      const final = await stream.finalMessage();
      assert.ok(deltas.length > 1, 'the text arrives in several deltas');
      assert.equal(deltas.join(''), 'You said: one two three four');
      assert.equal(text(final), 'You said: one two three four');
      assert.equal(final.stop_reason, 'end_turn');
      assert.match(final.id, /^msg_/);
      checkUsage(final.usage, 6);
      assert.equal(events[0], 'message_start');
      assert.equal(events.at(-1), 'message_stop');
      assert.equal(events.at(-2), 'message_delta');
      const seen = events.filter((t) => t !== 'ping');
      assert.deepEqual([...new Set(seen)],
        ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop',
          'message_delta', 'message_stop']);
    });

    test('create({stream: true}) raw events: text deltas, usage in message_start/message_delta', async () => {
      const stream = await client.messages.create({
        model: 'gpt-mock', max_tokens: 64, stream: true,
        messages: [{ role: 'user', content: 'stream me please' }],
      });
      let start = null;
      let delta = null;
      let acc = '';
      for await (const ev of stream) {
        if (ev.type === 'message_start') start = ev.message;
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') acc += ev.delta.text;
        if (ev.type === 'message_delta') delta = ev;
      }
      assert.equal(acc, 'You said: stream me please');
      assert.equal(delta.delta.stop_reason, 'end_turn');
      assert.equal(delta.usage.output_tokens, 5);
      // Input tokens: in message_start when the provider reports them up front (Anthropic);
      // providers that report usage only at the end (OpenAI) put them in message_delta, which
      // the SDK merges over message_start's.
      assert.ok(start, 'message_start arrived');
      const input = delta.usage.input_tokens ?? start.usage.input_tokens;
      assert.ok(Number.isInteger(input) && input > 0, JSON.stringify({ start: start.usage, delta: delta.usage }));
      if (provider === 'anthropic') assert.ok(start.usage.input_tokens > 0, JSON.stringify(start.usage));
    });

    test('tool_use round trip (non-stream call, streamed answer after tool_result)', async () => {
      const messages = [{ role: 'user', content: '#mock tool=get_weather args={"city":"Paris"}\nWeather in Paris?' }];
      const first = await client.messages.create({
        model: 'gpt-mock', max_tokens: 256, messages, tools: [weatherTool],
      });
      assert.equal(first.stop_reason, 'tool_use');
      const uses = first.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, 1, JSON.stringify(first.content));
      assert.equal(uses[0].name, 'get_weather');
      assert.deepEqual(uses[0].input, { city: 'Paris' });
      assert.ok(uses[0].id);
      checkUsage(first.usage);

      messages.push({ role: 'assistant', content: first.content });
      messages.push({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: uses[0].id, content: '18C and sunny' }],
      });
      const final = await client.messages.stream({
        model: 'gpt-mock', max_tokens: 256, messages, tools: [weatherTool],
      }).finalMessage();
      assert.equal(final.stop_reason, 'end_turn');
      assert.match(text(final), /18C and sunny/);
      assert.equal(final.content.filter((b) => b.type === 'tool_use').length, 0);
    });

    test('streamed parallel tool_use blocks accumulate their input JSON', async () => {
      const stream = client.messages.stream({
        model: 'gpt-mock', max_tokens: 256, tools: [weatherTool],
        messages: [{ role: 'user', content: '#mock tool=get_weather tools=2 args={"city":"Oslo"}' }],
      });
      let jsonDeltas = 0;
      stream.on('inputJson', () => { jsonDeltas += 1; });
      const final = await stream.finalMessage();
      const uses = final.content.filter((b) => b.type === 'tool_use');
      assert.equal(final.stop_reason, 'tool_use');
      assert.equal(uses.length, 2);
      for (const u of uses) assert.deepEqual(u.input, { city: 'Oslo' });
      assert.notEqual(uses[0].id, uses[1].id);
      assert.ok(jsonDeltas >= 2, 'tool input arrives as input_json_delta');
    });

    test('messages.countTokens counts system, messages and tools', async () => {
      const small = await client.messages.countTokens({
        model: 'gpt-mock', messages: [{ role: 'user', content: 'hi' }],
      });
      const big = await client.messages.countTokens({
        model: 'gpt-mock',
        system: 'You are a careful assistant that answers questions about the weather.',
        messages: [{ role: 'user', content: 'What is the weather like in Paris today, and tomorrow?' }],
        tools: [weatherTool],
      });
      assert.ok(Number.isInteger(small.input_tokens) && small.input_tokens > 0, JSON.stringify(small));
      assert.ok(big.input_tokens > small.input_tokens, `${big.input_tokens} > ${small.input_tokens}`);
    });

    test('a mid-stream upstream failure is an APIError from the stream after the text so far', async () => {
      const stream = client.messages.stream({
        model: 'gpt-mock', max_tokens: 64,
        messages: [{ role: 'user', content: '#mock error_after=2 status=503\none two three four five' }],
      });
      let seen = '';
      stream.on('text', (t) => { seen += t; });
      // A Chat upstream's mid-stream error carries no overload signal.
      const types = provider === 'openai' ? ['api_error', 'overloaded_error'] : ['overloaded_error'];
      await assert.rejects(stream.finalMessage(),
        (e) => e instanceof Anthropic.APIError && types.includes(e.error?.error?.type)
          && /overload/.test(e.error.error.message));
      assert.equal(seen, 'You said:', 'the two chunks before the error');
    });

    test('anthropic-beta reaches an Anthropic provider unchanged; request-id comes back', gatewayOnly, async () => {
      const betas = 'fine-grained-tool-streaming-2025-05-14,interleaved-thinking-2025-05-14';
      const msg = await client.messages.create(
        { model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'with betas' }] },
        { headers: { 'anthropic-beta': betas } });
      // The SDK exposes the request-id response header as _request_id.
      assert.ok(msg._request_id, 'request-id header on the answer');
      const first = await gw.mock.lastRequest();
      assert.equal(first.headers['anthropic-beta'], provider === 'anthropic' ? betas : undefined);
      const viaBeta = await client.beta.messages.create({
        model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'beta client' }],
        betas: ['interleaved-thinking-2025-05-14'],
      });
      assert.equal(text(viaBeta), 'You said: beta client');
      const last = await gw.mock.lastRequest();
      if (provider === 'anthropic') {
        assert.equal(last.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
        assert.ok(last.headers['anthropic-version'], 'an anthropic-version goes upstream');
      } else {
        assert.equal(last.headers['anthropic-beta'], undefined);
        assert.equal(last.headers['anthropic-version'], undefined);
      }
    });

    test('invalid body is a BadRequestError', async () => {
      await assert.rejects(
        client.messages.create({ model: 'gpt-mock', max_tokens: 16 }),
        (e) => e instanceof Anthropic.BadRequestError && e.status === 400
          && e.error?.type === 'error' && e.error?.error?.type === 'invalid_request_error');
    });

    test('upstream throttling is a RateLimitError', async () => {
      await assert.rejects(
        client.messages.create({
          model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: '#mock status=429' }],
        }),
        (e) => e instanceof Anthropic.RateLimitError && e.status === 429
          && e.error?.error?.type === 'rate_limit_error');
    });

    test('a wrong key is an AuthenticationError', gatewayOnly, async () => {
      const other = newClient(gw, { apiKey: 'sk-ant-not-a-basalt-key' });
      await assert.rejects(
        other.messages.create({ model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.AuthenticationError && e.status === 401
          && e.error?.error?.type === 'authentication_error');
    });

    test('unknown model is a NotFoundError', gatewayOnly, async () => {
      await assert.rejects(
        client.messages.create({ model: 'nope', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.NotFoundError && e.status === 404);
    });

    test('authToken (Authorization: Bearer) and a hand-set x-api-key both authenticate', async () => {
      const bearer = newClient(gw, { authToken: ADMIN_KEY });
      const viaHeader = newClient(gw, { apiKey: null, defaultHeaders: { 'X-Api-Key': ADMIN_KEY } });
      for (const [name, c] of [['bearer', bearer], ['x-api-key', viaHeader]]) {
        const msg = await c.messages.create({
          model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: `via ${name}` }],
        });
        assert.equal(text(msg), `You said: via ${name}`);
      }
      if (gw.direct) {
        const last = await gw.mock.lastRequest();
        assert.equal(last.headers['x-api-key'], ADMIN_KEY);
        assert.equal(last.headers.authorization, undefined);
      }
    });

    test('a wrong x-api-key is an AuthenticationError', gatewayOnly, async () => {
      const other = newClient(gw, { apiKey: null, defaultHeaders: { 'X-Api-Key': 'sk-ant-wrong' } });
      await assert.rejects(
        other.messages.create({ model: 'gpt-mock', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }),
        (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
    });
  });
}
