// Managed agents with MCP toolsets, end to end: the real basalt binary, the @anthropic-ai/sdk
// beta client, and a REAL MCP server from the official @modelcontextprotocol/sdk package
// (McpServer + StreamableHTTPServerTransport, stateful sessions, SSE answers) that requires a
// bearer token. The session's vault holds the token (static_bearer, keyed by the server URL);
// the model (mock-upstream, scripted with `#mock` directives) calls the MCP tool under its
// model-facing name `mcp__<server>__<tool>`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  ADMIN_KEY, PROVIDER_KEY, agentsGatewayConfig, startMock, startProcess,
} from './harness.mjs';

const MCP_TOKEN = 'mcp-test-token-7f3a9c';

let mock;
let dir;
let gateway;
let client;
let mcpHttp;
let mcpUrl;
/// What the MCP server saw: the Authorization header of every HTTP request, the tool calls,
/// and the sessions ended by DELETE.
const seen = { authorizations: [], calls: [], deleted: 0 };
const transports = new Map();

function weatherServer() {
  const server = new McpServer({ name: 'weather-test', version: '1.0.0' });
  server.registerTool('get_weather', {
    description: 'Current weather for a city',
    inputSchema: { city: z.string() },
  }, async ({ city }) => {
    seen.calls.push(city);
    return { content: [{ type: 'text', text: `Sunny in ${city}, 21 C` }] };
  });
  server.registerTool('hidden_tool', {
    description: 'Disabled in the agent configuration',
    inputSchema: { x: z.string() },
  }, async () => ({ content: [{ type: 'text', text: 'must not run' }] }));
  return server;
}

async function startMcpServer() {
  mcpHttp = http.createServer(async (req, res) => {
    seen.authorizations.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Bearer ${MCP_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end('{"error":"invalid_token"}');
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const parsed = body ? JSON.parse(body) : undefined;
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (req.method !== 'POST' || sid || !isInitializeRequest(parsed)) {
        res.writeHead(sid ? 404 : 400);
        res.end();
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => { transports.set(id, transport); },
      });
      transport.onclose = () => {
        if (transport.sessionId) transports.delete(transport.sessionId);
      };
      await weatherServer().connect(transport);
    }
    if (req.method === 'DELETE') seen.deleted += 1;
    await transport.handleRequest(req, res, parsed);
  });
  await new Promise((r) => mcpHttp.listen(0, '127.0.0.1', r));
  mcpUrl = `http://127.0.0.1:${mcpHttp.address().port}/mcp`;
}

before(async () => {
  await startMcpServer();
  mock = await startMock();
  dir = mkdtempSync(path.join(tmpdir(), 'basalt-mcp-'));
  chmodSync(dir, 0o711);
  const config = path.join(dir, 'basalt.toml');
  writeFileSync(config, agentsGatewayConfig(dir, mock));
  gateway = await startProcess(['serve', '--config', config],
    { env: { BASALT_CLIENT_TEST_PROVIDER_KEY: PROVIDER_KEY } });
  client = new Anthropic({
    baseURL: `http://${gateway.address}`, apiKey: null, authToken: ADMIN_KEY, maxRetries: 0,
  });
});

after(async () => {
  for (const p of [gateway?.proc, mock?.proc]) {
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
  }
  for (const t of transports.values()) await t.close().catch(() => {});
  mcpHttp?.closeAllConnections?.();
  await new Promise((r) => (mcpHttp ? mcpHttp.close(r) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function allEvents(sessionId) {
  const events = [];
  for await (const e of client.beta.sessions.events.list(sessionId)) events.push(e);
  return events;
}

async function waitFor(sessionId, predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let events = [];
  while (Date.now() < deadline) {
    events = await allEvents(sessionId);
    if (predicate(events)) return events;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events)}`);
}

const idleCount = (events) => events.filter((e) => e.type === 'session.status_idle').length;
const lastIdle = (events) => [...events].reverse().find((e) => e.type === 'session.status_idle');
const text = (blocks) => blocks.map((b) => b.text).join('');

async function turn(sessionId, message) {
  const before = idleCount(await allEvents(sessionId));
  await client.beta.sessions.events.send(sessionId, {
    events: [{ type: 'user.message', content: [{ type: 'text', text: message }] }],
  });
  return waitFor(sessionId, (ev) => idleCount(ev) > before, `idle after "${message}"`);
}

/// An agent with the weather MCP server, a vault holding `token` for its URL, and a session.
async function mcpSession({ token = MCP_TOKEN, policy } = {}) {
  const environment = await client.beta.environments.create({
    name: `env-${randomUUID()}`, config: { type: 'cloud', networking: { type: 'limited' } },
  });
  const toolset = {
    type: 'mcp_toolset',
    mcp_server_name: 'weather',
    configs: [{ name: 'hidden_tool', enabled: false }],
  };
  if (policy) toolset.default_config = { permission_policy: { type: policy } };
  const agent = await client.beta.agents.create({
    name: `mcp-agent-${randomUUID()}`,
    model: 'claude-mock',
    system: 'You are terse.',
    mcp_servers: [{ type: 'url', name: 'weather', url: mcpUrl }],
    tools: [toolset],
  });
  const vault = await client.beta.vaults.create({ display_name: `vault-${randomUUID()}` });
  await client.beta.vaults.credentials.create(vault.id, {
    display_name: 'weather token',
    auth: { type: 'static_bearer', mcp_server_url: mcpUrl, token },
  });
  const session = await client.beta.sessions.create({
    agent: agent.id, environment_id: environment.id, vault_ids: [vault.id],
  });
  return session;
}

const CALL = '#mock tool=mcp__weather__get_weather args={"city": "Oslo"}';

test('an MCP tool call: agent.mcp_tool_use -> the real MCP server -> agent.mcp_tool_result', async () => {
  const session = await mcpSession({ policy: 'always_allow' });
  seen.authorizations.length = 0;
  seen.calls.length = 0;
  seen.deleted = 0;
  const events = await turn(session.id, `Weather in Oslo?\n${CALL}`);
  const types = events.map((e) => e.type);
  assert.ok(!types.includes('session.error'), JSON.stringify(events));

  const use = events.find((e) => e.type === 'agent.mcp_tool_use');
  assert.ok(use, types.join());
  assert.equal(use.name, 'get_weather');
  assert.equal(use.mcp_server_name, 'weather');
  assert.deepEqual(use.input, { city: 'Oslo' });
  assert.equal(use.evaluated_permission, 'allow');

  const result = events.find((e) => e.type === 'agent.mcp_tool_result');
  assert.ok(result, types.join());
  assert.equal(result.mcp_tool_use_id, use.id);
  assert.equal(result.is_error, false);
  assert.equal(text(result.content), 'Sunny in Oslo, 21 C');

  const answer = events.filter((e) => e.type === 'agent.message').at(-1);
  assert.equal(text(answer.content), 'Tool result: Sunny in Oslo, 21 C');
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');

  // The server ran the tool once and saw the vault's bearer token on every request.
  assert.deepEqual(seen.calls, ['Oslo']);
  assert.ok(seen.authorizations.length >= 3, JSON.stringify(seen.authorizations));
  assert.ok(seen.authorizations.every((a) => a === `Bearer ${MCP_TOKEN}`));

  // The model was offered the enabled MCP tool under its model-facing name, with the server's
  // schema, and not the disabled one.
  const last = await mock.lastRequest();
  const names = (last.json.tools ?? []).map((t) => t.name);
  assert.ok(names.includes('mcp__weather__get_weather'), names.join());
  assert.ok(!names.some((n) => n.includes('hidden_tool')), names.join());
  const schema = last.json.tools.find((t) => t.name === 'mcp__weather__get_weather').input_schema;
  assert.equal(schema.properties.city.type, 'string');

  // The worker ended its MCP session (HTTP DELETE) when the turn was over.
  const deleteBy = Date.now() + 5000;
  while (seen.deleted < 1 && Date.now() < deleteBy) await sleep(50);
  assert.ok(seen.deleted >= 1, 'the MCP session was not ended');

  // The tool run is in the audit chain under tool/mcp/<server>/<tool>.
  const audit = await fetch(`http://${gateway.address}/admin/v1/audit?limit=1000`,
    { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const records = (await audit.text()).trim().split('\n').map((l) => JSON.parse(l));
  const run = records.find((r) => r.eventName === 'ExecuteTool' &&
    r.requestParameters?.sessionId === session.id);
  assert.ok(run, 'no ExecuteTool audit record');
  assert.equal(run.requestParameters.tool, 'mcp/weather/get_weather');
  assert.equal(run.requestParameters.toolUseId, use.id);
});

test('a wrong token: session.error mcp_authentication_failed_error, the turn still ends', async () => {
  const session = await mcpSession({ token: 'not-the-right-token', policy: 'always_allow' });
  const events = await turn(session.id, 'Hello\n#mock reply="No tools today."');
  const error = events.find((e) => e.type === 'session.error');
  assert.ok(error, events.map((e) => e.type).join());
  assert.equal(error.error.type, 'mcp_authentication_failed_error');
  assert.equal(error.error.mcp_server_name, 'weather');
  assert.doesNotMatch(error.error.message, /not-the-right-token/);
  const answer = events.filter((e) => e.type === 'agent.message').at(-1);
  assert.equal(text(answer.content), 'No tools today.');
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');
  const last = await mock.lastRequest();
  const names = (last.json.tools ?? []).map((t) => t.name);
  assert.ok(!names.some((n) => n.startsWith('mcp__')), names.join());
});

test('always_ask (the mcp_toolset default): requires_action, then the confirmation runs it', async () => {
  const session = await mcpSession();  // no default_config: MCP toolsets default to always_ask
  seen.calls.length = 0;
  let events = await turn(session.id, `Weather?\n${CALL}`);
  const use = events.find((e) => e.type === 'agent.mcp_tool_use');
  assert.ok(use, events.map((e) => e.type).join());
  assert.equal(use.evaluated_permission, 'ask');
  const idle = lastIdle(events);
  assert.equal(idle.stop_reason.type, 'requires_action');
  assert.deepEqual(idle.stop_reason.event_ids, [use.id]);
  assert.ok(!events.some((e) => e.type === 'agent.mcp_tool_result'), 'nothing ran yet');
  assert.deepEqual(seen.calls, []);

  const before = idleCount(events);
  await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }],
  });
  events = await waitFor(session.id, (ev) => idleCount(ev) > before, 'idle after allow');
  const result = events.find((e) => e.type === 'agent.mcp_tool_result');
  assert.ok(result, events.map((e) => e.type).join());
  assert.equal(result.mcp_tool_use_id, use.id);
  assert.equal(result.is_error, false);
  assert.equal(text(result.content), 'Sunny in Oslo, 21 C');
  assert.deepEqual(seen.calls, ['Oslo']);
  assert.equal(lastIdle(events).stop_reason.type, 'end_turn');
  assert.equal(text(events.filter((e) => e.type === 'agent.message').at(-1).content),
    'Tool result: Sunny in Oslo, 21 C');
});
