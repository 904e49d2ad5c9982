// The official `openai` npm SDK against the real basalt binary and mock-upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ADMIN_KEY, startGateway } from './harness.mjs';

let gw;
let client;

before(async () => {
  gw = await startGateway();
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: ADMIN_KEY, maxRetries: 0 });
});

after(async () => { await gw?.stop(); });

test('non-streaming completion', async () => {
  const res = await client.chat.completions.create({
    model: 'gpt-mock',
    messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }],
  }).withResponse();
  const completion = res.data;
  assert.equal(completion.object, 'chat.completion');
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.model, 'gpt-mock');
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, 'You said: hello there');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.ok(completion.usage.prompt_tokens > 0);
  assert.equal(completion.usage.completion_tokens, 4);
  assert.equal(completion.usage.total_tokens,
    completion.usage.prompt_tokens + completion.usage.completion_tokens);
  assert.ok(res.response.headers.get('x-request-id'));
});

test('streaming completion with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-mock',
    messages: [{ role: 'user', content: 'one two three four' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
      assert.equal(chunk.usage, null);
    } else {
      usage = chunk.usage;
    }
  }
  assert.equal(text, 'You said: one two three four');
  assert.equal(finish, 'stop');
  assert.ok(chunks > 3, 'the reply arrives in several chunks');
  assert.ok(usage && usage.completion_tokens === 6 && usage.prompt_tokens > 0);
});

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

test('tool-call round trip (non-stream then streamed follow-up)', async () => {
  const messages = [{ role: 'user', content: '#mock tool=get_weather args={"city":"Paris"}\nWeather in Paris?' }];
  const first = await client.chat.completions.create({
    model: 'gpt-mock', messages, tools: [weatherTool], tool_choice: 'auto',
  });
  const choice = first.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });

  messages.push(choice.message);
  messages.push({ role: 'tool', tool_call_id: call.id, content: '18C and sunny' });
  const follow = client.chat.completions.stream({ model: 'gpt-mock', messages, tools: [weatherTool] });
  const final = await follow.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'stop');
  assert.match(final.choices[0].message.content, /18C and sunny/);
});

test('streamed parallel tool calls accumulate in the SDK', async () => {
  const stream = client.chat.completions.stream({
    model: 'gpt-mock',
    messages: [{ role: 'user', content: '#mock tool=get_weather tools=2 args={"city":"Oslo"}' }],
    tools: [weatherTool],
  });
  const final = await stream.finalChatCompletion();
  const calls = final.choices[0].message.tool_calls;
  assert.equal(calls.length, 2);
  for (const c of calls) assert.deepEqual(JSON.parse(c.function.arguments), { city: 'Oslo' });
  assert.notEqual(calls[0].id, calls[1].id);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

test('unknown model is a NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

test('invalid request is a BadRequestError naming the field', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-mock', messages: [], temperature: 1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
});

test('upstream error status maps to the SDK error class', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-mock', messages: [{ role: 'user', content: '#mock status=500' }] }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 502);
});

test('a wrong key is an AuthenticationError', async () => {
  const other = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-not-a-basalt-key', maxRetries: 0 });
  await assert.rejects(
    other.chat.completions.create({ model: 'gpt-mock', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

test('models list is readable by the SDK', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['gpt-mock']);
});
