// Managed agents through the real binary with the @anthropic-ai/sdk beta client
// (client.beta.agents / environments / sessions / sessions.events / memoryStores). Models are
// served by `basalt mock-upstream` (Anthropic provider), scripted per turn with `#mock`
// directives in the user's message; built-in tools run in the bubblewrap sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import {
  ADMIN_KEY, BASALT, PROVIDER_KEY, agentsGatewayConfig, startMock, startProcess,
} from './harness.mjs';

let mock;
let dir;
let config;
let gateway;
let client;

async function startServe() {
  const gw = await startProcess(['serve', '--config', config],
    { env: { BASALT_CLIENT_TEST_PROVIDER_KEY: PROVIDER_KEY } });
  client = new Anthropic({
    baseURL: `http://${gw.address}`, apiKey: null, authToken: ADMIN_KEY, maxRetries: 0,
  });
  return gw;
}

before(async () => {
  mock = await startMock();
  dir = mkdtempSync(path.join(tmpdir(), 'basalt-agents-'));
  // The sandbox runs commands as an unprivileged uid: it must be able to traverse to its
  // workspace under the data dir (search permission only, no listing).
  chmodSync(dir, 0o711);
  config = path.join(dir, 'basalt.toml');
  writeFileSync(config, agentsGatewayConfig(dir, mock));
  gateway = await startServe();
});

after(async () => {
  for (const p of [gateway?.proc, mock?.proc]) {
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function allEvents(sessionId) {
  const events = [];
  for await (const e of client.beta.sessions.events.list(sessionId)) events.push(e);
  return events;
}

/// Polls the session's event log until `predicate(events)` holds; returns the events.
async function waitFor(sessionId, predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let events = [];
  while (Date.now() < deadline) {
    events = await allEvents(sessionId);
    if (predicate(events)) return events;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; events: ${events.map((e) => e.type).join(', ')}`);
}

const idleCount = (events) => events.filter((e) => e.type === 'session.status_idle').length;
const lastIdle = (events) => [...events].reverse().find((e) => e.type === 'session.status_idle');

/// Sends a user message and waits for the next idle (the turn's end or requires_action).
async function turn(sessionId, text) {
  const before = idleCount(await allEvents(sessionId));
  await client.beta.sessions.events.send(sessionId, {
    events: [{ type: 'user.message', content: [{ type: 'text', text }] }],
  });
  return waitFor(sessionId, (ev) => idleCount(ev) > before, `idle after "${text}"`);
}

/// Runs `basalt ARGS` against the gateway's admin API; returns its parsed JSON output.
function cli(...args) {
  const p = spawnSync(BASALT, args, {
    env: { ...process.env, BASALT_URL: `http://${gateway.address}`, BASALT_ADMIN_KEY: ADMIN_KEY },
    encoding: 'utf8', timeout: 30000,
  });
  assert.equal(p.status, 0, `basalt ${args.join(' ')}: ${p.stderr}`);
  return JSON.parse(p.stdout);
}

/// A principal with an API key and one IAM policy; returns an SDK client acting as it.
function principalClient(name, statements) {
  const policyFile = path.join(dir, `${name}.json`);
  writeFileSync(policyFile, JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  cli('principal', 'create', name);
  cli('policy', 'put', `${name}-policy`, policyFile);
  cli('policy', 'attach', `${name}-policy`, name);
  const key = cli('key', 'create', name).api_key;
  return new Anthropic({
    baseURL: `http://${gateway.address}`, apiKey: null, authToken: key, maxRetries: 0,
  });
}

async function newSession({ tools = [], resources = [], networking = 'limited' } = {}) {
  const environment = await client.beta.environments.create({
    name: `env-${Date.now()}-${Math.random()}`,
    config: { type: 'cloud', networking: { type: networking } },
  });
  const agent = await client.beta.agents.create({
    name: `agent-${Date.now()}`, model: 'claude-mock', system: 'You are terse.', tools,
  });
  const session = await client.beta.sessions.create({
    agent: agent.id, environment_id: environment.id, resources,
  });
  return { agent, environment, session };
}

const TOOLSET = (policy) => ({
  type: 'agent_toolset_20260401',
  default_config: { permission_policy: { type: policy } },
});

test('a conversation turn: user.message -> agent.message -> idle(end_turn), with usage spans', async () => {
  const { session } = await newSession();
  const events = await turn(session.id, 'Hello agent\n#mock reply="Hi from the agent." usage=12,5');
  const types = events.map((e) => e.type);
  assert.ok(types.includes('session.status_running'), types.join());
  const message = events.find((e) => e.type === 'agent.message');
  assert.equal(message.content.map((b) => b.text).join(''), 'Hi from the agent.');
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');
  const end = events.find((e) => e.type === 'span.model_request_end');
  assert.ok(end, types.join());
  const usage = end.model_usage;
  assert.equal(usage.input_tokens, 12);
  assert.equal(usage.output_tokens, 5);
  const retrieved = await client.beta.sessions.retrieve(session.id);
  assert.equal(retrieved.status, 'idle');

  // The model call went through the gateway's audit chain, attributed to agent and session.
  const audit = await fetch(`http://${gateway.address}/admin/v1/audit?limit=1000`,
    { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(audit.status, 200);
  const records = (await audit.text()).trim().split('\n').map((l) => JSON.parse(l));
  const call = records.find((r) => r.requestParameters?.sessionId === session.id &&
    r.requestParameters?.modelId === 'claude-mock');
  assert.ok(call, 'no audit record of the agent model call');
  assert.equal(call.requestParameters.agentId, session.agent.id);
  assert.equal(call.userIdentity.principalId, 'root');
  assert.equal(call.responseElements.usage.inputTokens, 12);

  // Per-agent metrics: the model call and its tokens.
  const metrics = await (await fetch(`http://${gateway.address}/metrics`)).text();
  assert.match(metrics, new RegExp(
    `basalt_agent_events_total\\{agent="${session.agent.id}",event="model_call"\\} 1\n`));
  assert.match(metrics, new RegExp(`basalt_agent_tokens_total\\{agent="${session.agent.id}"\\} 17\n`));
});

test('a custom tool round trip through requires_action', async () => {
  const { session } = await newSession({
    tools: [{ type: 'custom', name: 'lookup', description: 'Look a thing up',
      input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
  });
  let events = await turn(session.id, 'Find it\n#mock tool=lookup args={"q": "answer"}');
  const use = events.find((e) => e.type === 'agent.custom_tool_use');
  assert.ok(use, events.map((e) => e.type).join());
  assert.equal(use.name, 'lookup');
  assert.deepEqual(use.input, { q: 'answer' });
  const idle = lastIdle(events);
  assert.equal(idle.stop_reason.type, 'requires_action');
  assert.deepEqual(idle.stop_reason.event_ids, [use.id]);

  const before = idleCount(events);
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id,
      content: [{ type: 'text', text: 'forty-two' }] }],
  });
  events = await waitFor(session.id, (ev) => idleCount(ev) > before, 'idle after the result');
  const messages = events.filter((e) => e.type === 'agent.message');
  assert.equal(messages.at(-1).content.map((b) => b.text).join(''), 'Tool result: forty-two');
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');
  // Answering the same tool use twice is refused.
  await assert.rejects(client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id,
      content: [{ type: 'text', text: 'again' }] }],
  }), (e) => e.status === 400);
});

test('always_ask: a built-in tool waits for user.tool_confirmation (deny, then allow)', async () => {
  const { session } = await newSession({ tools: [TOOLSET('always_ask')] });
  let events = await turn(session.id,
    'Make a file\n#mock tool=bash args={"command": "echo confirmed > confirmed.txt && echo done"}');
  let use = events.find((e) => e.type === 'agent.tool_use');
  assert.ok(use, events.map((e) => e.type).join());
  assert.equal(use.name, 'bash');
  assert.equal(lastIdle(events).stop_reason.type, 'requires_action');
  assert.ok(!events.some((e) => e.type === 'agent.tool_result'), 'nothing ran before confirmation');

  let before = idleCount(events);
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny',
      deny_message: 'not today' }],
  });
  events = await waitFor(session.id, (ev) => idleCount(ev) > before, 'idle after deny');
  let result = events.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
  assert.equal(result.is_error, true);
  assert.match(result.content.map((b) => b.text).join(''), /not today/);

  events = await turn(session.id,
    'Again\n#mock tool=bash args={"command": "echo confirmed > confirmed.txt && echo done"}');
  use = events.filter((e) => e.type === 'agent.tool_use').at(-1);
  before = idleCount(events);
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }],
  });
  events = await waitFor(session.id, (ev) => idleCount(ev) > before, 'idle after allow');
  result = events.find((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
  assert.ok(result && !result.is_error, JSON.stringify(result));
  assert.match(result.content.map((b) => b.text).join(''), /done/);
  // A confirmation with nothing pending is refused.
  await assert.rejects(client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }],
  }), (e) => e.status === 400);
});

test('bash in the sandbox writes a file in the workspace and cannot reach the network', async () => {
  const { session } = await newSession({ tools: [TOOLSET('always_allow')] });
  const port = gateway.address.split(':').at(-1);
  const command = `echo sandboxed > made.txt; ` +
    `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo NET-OPEN) 2>/dev/null || echo NET-BLOCKED`;
  const events = await turn(session.id, `Run it\n#mock tool=bash args=${JSON.stringify({ command })}`);
  const result = events.find((e) => e.type === 'agent.tool_result');
  assert.ok(result, events.map((e) => e.type).join());
  const output = result.content.map((b) => b.text).join('');
  assert.match(output, /NET-BLOCKED/);
  assert.doesNotMatch(output, /NET-OPEN/);
  const made = path.join(dir, 'data', 'sandboxes', session.id, 'workspace', 'made.txt');
  assert.ok(existsSync(made), `${made} missing`);
  assert.equal(readFileSync(made, 'utf8'), 'sandboxed\n');
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');
});

test('web_fetch follows the environment\'s networking: allowed when unrestricted, refused when not', async () => {
  const url = `http://${gateway.address}/healthz`;
  const ask = `Fetch\n#mock tool=web_fetch args=${JSON.stringify({ url })}`;
  let { session } = await newSession({ tools: [TOOLSET('always_allow')], networking: 'unrestricted' });
  let events = await turn(session.id, ask);
  let result = events.find((e) => e.type === 'agent.tool_result');
  assert.ok(result, events.map((e) => e.type).join());
  assert.equal(result.is_error, false, JSON.stringify(result));
  assert.equal(result.content.map((b) => b.text).join(''), 'ok\n');

  ({ session } = await newSession({ tools: [TOOLSET('always_allow')] }));
  events = await turn(session.id, ask);
  result = events.find((e) => e.type === 'agent.tool_result');
  assert.equal(result.is_error, true);
  assert.match(result.content.map((b) => b.text).join(''), /network access is disabled/);
});

test('a memory store: written, read back, with an immutable version history', async () => {
  const store = await client.beta.memoryStores.create({ name: `notes-${Date.now()}` });
  const memory = await client.beta.memoryStores.memories.create(store.id,
    { path: '/project/plan.md', content: 'v1: draft' });
  await client.beta.memoryStores.memories.update(memory.id,
    { memory_store_id: store.id, content: 'v2: final' });
  const read = await client.beta.memoryStores.memories.retrieve(memory.id,
    { memory_store_id: store.id });
  assert.equal(read.content, 'v2: final');
  const versions = [];
  for await (const v of client.beta.memoryStores.memoryVersions.list(store.id)) versions.push(v);
  assert.ok(versions.length >= 2, JSON.stringify(versions));
  const contents = [];
  for (const v of versions) {
    const full = await client.beta.memoryStores.memoryVersions.retrieve(v.id,
      { memory_store_id: store.id });
    contents.push(full.content);
  }
  assert.ok(contents.includes('v1: draft') && contents.includes('v2: final'), contents.join('|'));
});

test('user.interrupt stops a running turn', async () => {
  const { session } = await newSession();
  const before = idleCount(await allEvents(session.id));
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.message',
      content: [{ type: 'text', text: 'Think long\n#mock latency_ms=8000 reply="too late"' }] }],
  });
  await waitFor(session.id, (ev) => ev.some((e) => e.type === 'span.model_request_start'),
    'the model call to start');
  const sent = Date.now();
  await client.beta.sessions.events.send(session.id, { events: [{ type: 'user.interrupt' }] });
  const events = await waitFor(session.id, (ev) => idleCount(ev) > before, 'idle after interrupt');
  assert.ok(Date.now() - sent < 6000, 'the interrupt did not wait for the model');
  assert.ok(!events.some((e) => e.type === 'agent.message' &&
    e.content.some((b) => b.text === 'too late')), 'the interrupted answer was not delivered');
});

test('SIGKILL mid-run: the session resumes after restart, no tool runs twice, history complete', async () => {
  const { session } = await newSession({ tools: [TOOLSET('always_allow')] });
  const command = 'echo run >> runs.txt; cat runs.txt | wc -l';
  // Each model call takes 1.5 s: the kill lands while the second call (after the tool) runs.
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.message', content: [{ type: 'text',
      text: `Count\n#mock latency_ms=1500 tool=bash args=${JSON.stringify({ command })}` }] }],
  });
  await waitFor(session.id, (ev) => ev.some((e) => e.type === 'agent.tool_result'),
    'the tool result');
  gateway.proc.kill('SIGKILL');
  await new Promise((r) => gateway.proc.once('exit', r));
  gateway = await startServe();

  const events = await waitFor(session.id,
    (ev) => ev.some((e) => e.type === 'agent.message'), 'the resumed answer', 30000);
  const types = events.map((e) => e.type);
  assert.ok(types.includes('session.status_rescheduled'), types.join());
  assert.equal(events.filter((e) => e.type === 'agent.tool_use').length, 1, types.join());
  assert.equal(events.filter((e) => e.type === 'agent.tool_result').length, 1, types.join());
  const runs = path.join(dir, 'data', 'sandboxes', session.id, 'workspace', 'runs.txt');
  assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'the completed tool call ran exactly once');
  const final = await waitFor(session.id, (ev) => lastIdle(ev)?.stop_reason?.type === 'end_turn',
    'end_turn after resume');
  assert.equal(final.filter((e) => e.type === 'user.message').length, 1);
  assert.match(final.filter((e) => e.type === 'agent.message').at(-1).content[0].text,
    /^Tool result: /);
});

test('policies govern agents: a denied tool is refused, a denied model ends the run', async () => {
  const admin = client;
  const modelArn = 'arn:aws:bedrock:us-east-1::foundation-model/claude-mock';
  // May run agents and the model, but never the bash tool.
  const noBash = principalClient(`nobash-${process.pid}`, [
    { Effect: 'Allow', Action: ['agents:*'], Resource: '*' },
    { Effect: 'Allow', Action: 'bedrock:InvokeModel*', Resource: modelArn },
    { Effect: 'Deny', Action: 'agents:ExecuteTool', Resource: 'arn:basalt:agents:*:*:tool/bash' },
  ]);
  // May run agents but not call the model.
  const noModel = principalClient(`nomodel-${process.pid}`, [
    { Effect: 'Allow', Action: ['agents:*'], Resource: '*' },
  ]);
  try {
    client = noBash;
    let { session } = await newSession({ tools: [TOOLSET('always_allow')] });
    let events = await turn(session.id,
      'Try\n#mock tool=bash args={"command": "echo should-not-run > denied.txt"}');
    const result = events.find((e) => e.type === 'agent.tool_result');
    assert.ok(result, events.map((e) => e.type).join());
    assert.equal(result.is_error, true);
    assert.match(result.content.map((b) => b.text).join(''), /not authorized/);
    assert.ok(!existsSync(path.join(dir, 'data', 'sandboxes', session.id, 'workspace', 'denied.txt')));

    client = noModel;
    ({ session } = await newSession());
    events = await turn(session.id, 'Hello\n#mock reply="never"');
    const error = events.find((e) => e.type === 'session.error');
    assert.ok(error, events.map((e) => e.type).join());
    assert.ok(!events.some((e) => e.type === 'agent.message'));
    // Another principal's session does not exist for it.
    client = noBash;
    await assert.rejects(client.beta.sessions.retrieve(session.id), (e) => e.status === 404);
  } finally {
    client = admin;
  }
});

test('limited networking: bash reaches an allowed host through the egress proxy, web_fetch elsewhere is refused', async () => {
  const port = gateway.address.split(':').at(-1);
  const environment = await client.beta.environments.create({
    name: `env-limited-${Date.now()}`,
    config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['localhost'] } },
  });
  assert.deepEqual(environment.config.networking.allowed_hosts, ['localhost']);
  const agent = await client.beta.agents.create({
    name: `agent-limited-${Date.now()}`, model: 'claude-mock', tools: [TOOLSET('always_allow')],
  });
  const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
  // curl inside the sandbox uses the proxy variables; the host is allowed.
  const command = `curl -sS --max-time 10 http://localhost:${port}/healthz; ` +
    `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo DIRECT-OPEN) 2>/dev/null || echo DIRECT-BLOCKED`;
  let events = await turn(session.id, `Run it\n#mock tool=bash args=${JSON.stringify({ command })}`);
  let result = events.find((e) => e.type === 'agent.tool_result');
  assert.ok(result, events.map((e) => e.type).join());
  const output = result.content.map((b) => b.text).join('');
  assert.match(output, /^ok$/m);
  assert.match(output, /DIRECT-BLOCKED/);
  // 127.0.0.1 is the same server, but it is not in allowed_hosts.
  const url = `http://127.0.0.1:${port}/healthz`;
  events = await turn(session.id, `Fetch\n#mock tool=web_fetch args=${JSON.stringify({ url })}`);
  result = events.filter((e) => e.type === 'agent.tool_result').at(-1);
  assert.equal(result.is_error, true, JSON.stringify(result));
  assert.match(result.content.map((b) => b.text).join(''), /'127\.0\.0\.1' is not in this environment's allowed_hosts/);
  // The proxy itself refuses what web_fetch's early check would not see (bash, any client).
  const denied = `curl -sS --max-time 10 -w ' %{http_code}' http://127.0.0.1:${port}/healthz`;
  events = await turn(session.id, `Run\n#mock tool=bash args=${JSON.stringify({ command: denied })}`);
  result = events.filter((e) => e.type === 'agent.tool_result').at(-1);
  assert.match(result.content.map((b) => b.text).join(''), /basalt egress proxy: host '127\.0\.0\.1' is not in this environment's allowed_hosts.* 403/s);
});

test('compaction: dropped turns are summarized by an audited model call through the gateway', async () => {
  // A gateway of its own with the smallest context budget the config allows (1,000 tokens):
  // four turns of ~180 tokens per message cross it, and the fourth call drops the first two.
  const cdir = mkdtempSync(path.join(tmpdir(), 'basalt-compaction-'));
  chmodSync(cdir, 0o711);
  const cconfig = path.join(cdir, 'basalt.toml');
  writeFileSync(cconfig, agentsGatewayConfig(cdir, mock, 'context_token_budget = 1000\n'));
  const gw = await startProcess(['serve', '--config', cconfig],
    { env: { BASALT_CLIENT_TEST_PROVIDER_KEY: PROVIDER_KEY } });
  const admin = client;
  client = new Anthropic({
    baseURL: `http://${gw.address}`, apiKey: null, authToken: ADMIN_KEY, maxRetries: 0,
  });
  try {
    const { session } = await newSession();
    const big = 'x'.repeat(700);
    let events;
    for (const word of ['one', 'two', 'three', 'four']) {
      events = await turn(session.id, `${word} ${big}`);  // the mock echoes: "You said: ..."
      assert.equal(lastIdle(events).stop_reason.type, 'end_turn', events.map((e) => e.type).join());
    }
    const compacted = events.filter((e) => e.type === 'agent.thread_context_compacted');
    assert.equal(compacted.length, 1, events.map((e) => e.type).join());
    const { summary } = compacted[0];
    // The echo of the summary request: it held the dropped turns, not the kept ones.
    assert.match(summary, /^You said: <transcript>\nUser: one x+/);
    assert.ok(!summary.includes('three'), summary);
    assert.equal(typeof compacted[0].first_kept_seq, 'number');
    // The fourth turn: the summary call in a span of its own (with usage), the compaction event,
    // then the turn's call.
    const four = events.find((e) => e.type === 'user.message' &&
      e.content[0].text.startsWith('four'));
    const ends = events.filter((e) => e.type === 'span.model_request_end');
    assert.equal(ends.length, 5);
    assert.ok(ends.every((e) => e.is_error === false));
    const idx = (e) => events.indexOf(e);
    assert.ok(idx(four) < idx(ends[3]) && idx(ends[3]) < idx(compacted[0]) &&
      idx(compacted[0]) < idx(ends[4]));
    assert.ok(ends[3].model_usage.input_tokens > 0);

    // Audited like any agent model call, as the session's principal, with its purpose.
    const audit = await fetch(`http://${gw.address}/admin/v1/audit?limit=1000`,
      { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(audit.status, 200);
    const records = (await audit.text()).trim().split('\n').map((l) => JSON.parse(l));
    const calls = records.filter((r) => r.requestParameters?.sessionId === session.id &&
      r.requestParameters?.modelId === 'claude-mock');
    assert.equal(calls.length, 5);
    const summaryCalls = calls.filter((r) => r.requestParameters.agentCallPurpose === 'compaction');
    assert.equal(summaryCalls.length, 1);
    assert.equal(summaryCalls[0].userIdentity.principalId, 'root');
    assert.equal(summaryCalls[0].requestParameters.agentId, session.agent.id);
  } finally {
    client = admin;
    if (gw.proc.exitCode === null && gw.proc.signalCode === null) {
      const exited = new Promise((r) => gw.proc.once('exit', r));
      gw.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(cdir, { recursive: true, force: true });
  }
});
