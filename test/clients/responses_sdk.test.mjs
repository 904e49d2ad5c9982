// The official `openai` npm SDK's Responses API (`client.responses.*`) against the real basalt
// binary's Responses door, once per provider type behind it (mock-upstream plays the provider).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ADMIN_KEY, DIRECT, PROVIDER_KEY, providersUnderTest, startTarget } from './harness.mjs';

/// Authentication and routing need the gateway: skipped against the bare mock.
const gatewayOnly = { skip: DIRECT && 'needs the gateway' };

const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

/// Text of every output_text part of every message item (what the SDK's output_text joins).
function messageText(response) {
  return response.output
    .filter((i) => i.type === 'message')
    .flatMap((i) => i.content)
    .filter((c) => c.type === 'output_text')
    .map((c) => c.text)
    .join('');
}

function checkUsage(usage, outputTokens) {
  assert.ok(usage, 'usage is present');
  assert.ok(Number.isInteger(usage.input_tokens) && usage.input_tokens > 0, JSON.stringify(usage));
  if (outputTokens !== undefined) assert.equal(usage.output_tokens, outputTokens);
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
  assert.equal(typeof usage.input_tokens_details?.cached_tokens, 'number');
  assert.equal(typeof usage.output_tokens_details?.reasoning_tokens, 'number');
}

// Each provider type the door must work with (harness PROVIDERS).
for (const provider of providersUnderTest(['openai-responses', 'anthropic', 'openai'])) {
  describe(`Responses door, provider ${provider}`, () => {
    let gw;
    let client;

    before(async () => {
      gw = await startTarget({ provider });
      client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0, timeout: 20000 });
    });

    after(async () => { await gw?.stop(); });

    test('non-streaming create: output item, output_text, usage', async () => {
      const res = await client.responses.create({
        model: 'gpt-mock',
        instructions: 'be brief',
        input: 'hello there',
      }).withResponse();
      const r = res.data;
      assert.equal(r.object, 'response');
      assert.match(r.id, /^resp_/);
      assert.equal(r.status, 'completed');
      assert.equal(r.model, 'gpt-mock');
      assert.equal(r.output_text, 'You said: hello there');
      const msg = r.output.find((i) => i.type === 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.status, 'completed');
      checkUsage(r.usage, 4);
      if (!gw.direct) {
        assert.ok(res.response.headers.get('x-request-id'));
        // The gateway called the provider type under test, with its own key.
        const stats = await gw.mock.stats();
        assert.ok(stats.by_path[gw.provider.path] >= 1, JSON.stringify(stats));
        assert.ok(!stats.last_authorization?.includes(ADMIN_KEY));
        const last = await gw.mock.lastRequest();
        const key = last.headers['x-api-key'] ?? last.headers.authorization;
        assert.ok(key?.includes(PROVIDER_KEY), `provider key reached the mock: ${key}`);
      }
    });

    test('input as message items with a developer message', async () => {
      const r = await client.responses.create({
        model: 'gpt-mock',
        input: [
          { role: 'developer', content: 'answer in one line' },
          { role: 'user', content: [{ type: 'input_text', text: 'first question' }] },
          { role: 'assistant', content: 'first answer' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second question' }] },
        ],
      });
      assert.equal(r.output_text, 'You said: second question');
    });

    test('streaming with responses.stream(): event order, deltas, final response', async () => {
      const stream = client.responses.stream({ model: 'gpt-mock', input: 'one two three four' });
      const types = [];
      const seqs = [];
      let text = '';
      for await (const ev of stream) {
        types.push(ev.type);
        seqs.push(ev.sequence_number);
        if (ev.type === 'response.output_text.delta') text += ev.delta;
      }
      const final = await stream.finalResponse();
      assert.equal(types[0], 'response.created');
      assert.equal(types.at(-1), 'response.completed');
      assert.ok(types.includes('response.output_item.added'));
      assert.ok(types.includes('response.output_item.done'));
      assert.ok(types.filter((t) => t === 'response.output_text.delta').length > 1,
        'the text arrives in several deltas');
      assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence_number counts from 0 without gaps');
      assert.equal(text, 'You said: one two three four');
      assert.equal(final.status, 'completed');
      assert.match(final.id, /^resp_/);
      assert.equal(messageText(final), text);
      checkUsage(final.usage, 6);
    });

    test('streaming with create({stream: true}): completed carries usage', async () => {
      const stream = await client.responses.create({
        model: 'gpt-mock', input: 'stream me please', stream: true,
      });
      let completed = null;
      let created = null;
      let text = '';
      for await (const ev of stream) {
        if (ev.type === 'response.created') created = ev.response;
        if (ev.type === 'response.output_text.delta') text += ev.delta;
        if (ev.type === 'response.completed') completed = ev.response;
      }
      assert.equal(created?.status, 'in_progress');
      assert.ok(completed, 'response.completed arrived');
      assert.equal(completed.id, created.id);
      assert.equal(text, 'You said: stream me please');
      checkUsage(completed.usage, 5);
    });

    test('function tool round trip (non-stream call, streamed follow-up)', async () => {
      const input = [{ role: 'user', content: '#mock tool=get_weather args={"city":"Paris"}\nWeather in Paris?' }];
      const first = await client.responses.create({ model: 'gpt-mock', input, tools: [weatherTool] });
      const calls = first.output.filter((i) => i.type === 'function_call');
      assert.equal(calls.length, 1, JSON.stringify(first.output));
      const call = calls[0];
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
      assert.ok(call.call_id);
      assert.equal(first.output_text, '');
      checkUsage(first.usage);

      // The whole output goes back as input (what the SDK docs show), then the tool's result.
      input.push(...first.output);
      input.push({ type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' });
      const follow = client.responses.stream({ model: 'gpt-mock', input, tools: [weatherTool] });
      const final = await follow.finalResponse();
      assert.equal(final.status, 'completed');
      assert.match(messageText(final), /18C and sunny/);
      assert.equal(final.output.filter((i) => i.type === 'function_call').length, 0);
    });

    test('streamed parallel function calls arrive as items with arguments', async () => {
      const stream = client.responses.stream({
        model: 'gpt-mock',
        input: '#mock tool=get_weather tools=2 args={"city":"Oslo"}',
        tools: [weatherTool],
      });
      const done = [];
      for await (const ev of stream) {
        if (ev.type === 'response.output_item.done' && ev.item.type === 'function_call') done.push(ev.item);
      }
      const final = await stream.finalResponse();
      const calls = final.output.filter((i) => i.type === 'function_call');
      assert.equal(done.length, 2);
      assert.equal(calls.length, 2);
      for (const c of calls) assert.deepEqual(JSON.parse(c.arguments), { city: 'Oslo' });
      assert.notEqual(calls[0].call_id, calls[1].call_id);
    });

    test('stored responses: retrieve, previous_response_id (non-stream and stream)', gatewayOnly, async () => {
      const first = await client.responses.create({
        model: 'gpt-mock', input: 'remember the word zebra', store: true,
      });
      const got = await client.responses.retrieve(first.id);
      assert.equal(got.id, first.id);
      assert.equal(got.status, 'completed');
      assert.equal(messageText(got), 'You said: remember the word zebra');

      // store defaults to true, so the second answer can be continued in turn.
      const second = await client.responses.create({
        model: 'gpt-mock', input: 'what word?', previous_response_id: first.id,
      });
      assert.equal(second.previous_response_id, first.id);
      assert.equal(second.output_text, 'You said: what word?');
      let upstream = (await gw.mock.lastRequest()).text;
      assert.ok(upstream.includes('remember the word zebra') && upstream.includes('You said: remember'),
        `the stored turn went to the provider: ${upstream}`);

      const third = await client.responses.stream({
        model: 'gpt-mock', input: 'and now?', previous_response_id: second.id,
      }).finalResponse();
      assert.equal(messageText(third), 'You said: and now?');
      upstream = (await gw.mock.lastRequest()).text;
      for (const t of ['remember the word zebra', 'what word?', 'You said: what word?', 'and now?']) {
        assert.ok(upstream.includes(t), `${t} in ${upstream}`);
      }

      await assert.rejects(client.responses.retrieve('resp_does_not_exist'),
        (e) => e instanceof OpenAI.NotFoundError);
      const unstored = await client.responses.create({ model: 'gpt-mock', input: 'x', store: false });
      await assert.rejects(client.responses.retrieve(unstored.id), (e) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(
        client.responses.create({ model: 'gpt-mock', input: 'x', previous_response_id: unstored.id }),
        (e) => e instanceof OpenAI.APIError && [400, 404].includes(e.status));
    });

    test('a mid-stream upstream failure arrives as response.failed after the deltas', async () => {
      const stream = await client.responses.create({
        model: 'gpt-mock', stream: true, input: '#mock error_after=2 status=503\none two three four five',
      });
      const types = [];
      let failed = null;
      for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === 'response.failed') failed = ev.response;
      }
      assert.equal(types.filter((t) => t === 'response.output_text.delta').length, 2, types.join());
      assert.equal(types.at(-1), 'response.failed');
      assert.ok(!types.includes('response.completed'));
      assert.equal(failed.status, 'failed');
      // A Chat upstream's mid-stream error carries no overload signal.
      const codes = provider === 'openai' ? ['server_error', 'server_is_overloaded'] : ['server_is_overloaded'];
      assert.ok(codes.includes(failed.error?.code), JSON.stringify(failed.error));
      assert.match(failed.error.message, /overload/);
    });

    test('invalid body is a BadRequestError', async () => {
      await assert.rejects(
        client.responses.create({ model: 'gpt-mock' }),
        (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && typeof e.message === 'string');
    });

    test('upstream throttling is a RateLimitError', async () => {
      await assert.rejects(
        client.responses.create({ model: 'gpt-mock', input: '#mock status=429' }),
        (e) => e instanceof OpenAI.RateLimitError && e.status === 429);
    });

    test('a wrong key is an AuthenticationError', gatewayOnly, async () => {
      const other = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-not-a-basalt-key', maxRetries: 0 });
      await assert.rejects(
        other.responses.create({ model: 'gpt-mock', input: 'x' }),
        (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    });

    test('unknown model is a NotFoundError', gatewayOnly, async () => {
      await assert.rejects(
        client.responses.create({ model: 'nope', input: 'x' }),
        (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
    });
  });
}

