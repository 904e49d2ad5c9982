// Starts the real basalt binary (and mock upstreams) for client tests, on free ports.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BASALT = process.env.BASALT_BINARY ?? path.resolve(import.meta.dirname, '../../build/basalt');

/// The root admin key every gateway started here gets (BASALT_ADMIN_KEY on first start).
export const ADMIN_KEY = 'bsk-test-root-admin-key-for-client-tests';

/// The key the gateway sends to the mock provider (via api_key_env), so tests can check that the
/// client's Basalt key is not what reaches the provider.
export const PROVIDER_KEY = 'sk-mock-provider-key-for-client-tests';

/// When set to 1, `startTarget` skips the gateway and points clients straight at mock-upstream
/// (it speaks the same wire formats). Only for developing a client test before its door exists.
export const DIRECT = process.env.BASALT_CLIENTS_DIRECT === '1';

/// Provider presets for the gateway config. `base` maps the mock's host:port to the provider's
/// base_url (the mock serves every vendor's paths on one port).
export const PROVIDERS = {
  openai: { type: 'openai', api: 'chat', base: (a) => `http://${a}/v1`, path: '/v1/chat/completions' },
  'openai-responses': {
    type: 'openai', api: 'responses', base: (a) => `http://${a}/v1`, path: '/v1/responses',
  },
  anthropic: { type: 'anthropic', base: (a) => `http://${a}`, path: '/v1/messages' },
};

/// The provider presets a test file runs against: its `defaults`, narrowed by the environment
/// variable BASALT_CLIENT_PROVIDERS=a,b (CMake sets it while a provider type is not wired yet).
export function providersUnderTest(defaults) {
  const only = process.env.BASALT_CLIENT_PROVIDERS;
  if (!only) return defaults;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  return defaults.filter((p) => wanted.includes(p));
}

/// Spawns `basalt ARGS...` and resolves with {proc, address} once it prints "listening on".
export function startProcess(args, { env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BASALT, args, {
      env: { ...process.env, BASALT_ADMIN_KEY: ADMIN_KEY, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`timeout starting basalt ${args.join(' ')}: ${out} ${err}`));
    }, 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, address: m[1] });
      }
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`basalt ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

async function stopProcesses(procs) {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
  }
}

/// Helpers around a running mock-upstream at `address` (host:port).
function mockHandle(address) {
  const url = `http://${address}`;
  return {
    address,
    url,
    /// {method, target, headers, body} of the last model call the mock received, plus `json`
    /// (the parsed body or null) and `text` (the body as a string).
    async lastRequest() {
      const r = await fetch(`${url}/mock/last-request`);
      const j = await r.json();
      // The body comes back as JSON when it parsed, else as a string.
      if (typeof j.body === 'string') {
        j.text = j.body;
        try { j.json = JSON.parse(j.body); } catch { j.json = null; }
      } else {
        j.json = j.body;
        j.text = JSON.stringify(j.body);
      }
      return j;
    },
    /// {requests, by_path, open_streams, last_authorization}.
    async stats() { return (await fetch(`${url}/mock/stats`)).json(); },
    async resetStats() { await fetch(`${url}/mock/stats`, { method: 'DELETE' }); },
  };
}

/// mock-upstream alone. Returns {address, url, lastRequest(), stats(), resetStats(), stop()}.
/// The basalt.toml of a managed-agents test gateway: data under `dir` (searchable by the
/// sandbox's unprivileged uid), a short lease for the crash tests, and the model "claude-mock"
/// served by `mock` through the anthropic provider. `agents` adds lines to [agents].
export function agentsGatewayConfig(dir, mock, agents = '') {
  return `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:0"
threads = 2

[agents]
lease_ms = 1500
reap_interval_ms = 300
${agents}
[[providers]]
name = "mock"
type = "anthropic"
base_url = "http://${mock.address}"
api_key_env = "BASALT_CLIENT_TEST_PROVIDER_KEY"

[[models]]
name = "claude-mock"
[[models.routes]]
provider = "mock"
model = "mock-model"
`;
}

export async function startMock(mockArgs = []) {
  const mock = await startProcess(['mock-upstream', '--listen', '127.0.0.1:0', ...mockArgs]);
  return { ...mockHandle(mock.address), proc: mock.proc, stop: () => stopProcesses([mock.proc]) };
}

/// A mock upstream plus a gateway routing model `gpt-mock` (and `models`) to it.
/// `provider` is a PROVIDERS key or a preset object; the default ('openai', chat) is what the
/// original Chat and Bedrock tests use. Returns {baseURL, address, mock, provider, stop}.
export async function startGateway({
  mockArgs = [], extraToml = '', provider = 'openai', models = ['gpt-mock'],
} = {}) {
  const preset = typeof provider === 'string' ? PROVIDERS[provider] : provider;
  if (!preset) throw new Error(`unknown provider preset ${provider}`);
  const mock = await startMock(mockArgs);
  const dir = mkdtempSync(path.join(tmpdir(), 'basalt-client-'));
  const config = path.join(dir, 'basalt.toml');
  const api = preset.api && preset.type === 'openai' && preset.api !== 'chat' ? `api = "${preset.api}"\n` : '';
  const keyLine = preset.withKey === false ? '' : 'api_key_env = "BASALT_CLIENT_TEST_PROVIDER_KEY"\n';
  const modelTables = models.map((m) => `
[[models]]
name = "${m}"
[[models.routes]]
provider = "mock"
model = "mock-model"
`).join('');
  writeFileSync(config, `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:0"
threads = 2

[[providers]]
name = "mock"
type = "${preset.type}"
${api}base_url = "${preset.base(mock.address)}"
${keyLine}${modelTables}
${extraToml}
`);
  let gw;
  try {
    gw = await startProcess(['serve', '--config', config],
      { env: { BASALT_CLIENT_TEST_PROVIDER_KEY: PROVIDER_KEY } });
  } catch (e) {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    baseURL: `http://${gw.address}/v1`,
    address: gw.address,
    url: `http://${gw.address}`,
    mock,
    provider: preset,
    direct: false,
    async stop() {
      await stopProcesses([gw.proc, mock.proc]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/// Like startGateway, but with BASALT_CLIENTS_DIRECT=1 returns the mock alone in the same shape
/// (baseURL/url point at the mock), so a client test can be written before its door exists.
export async function startTarget(options = {}) {
  if (!DIRECT) return startGateway(options);
  const preset = typeof options.provider === 'string' ? PROVIDERS[options.provider] : options.provider;
  const mock = await startMock(options.mockArgs ?? []);
  return {
    baseURL: `${mock.url}/v1`, address: mock.address, url: mock.url, mock, provider: preset,
    direct: true, stop: mock.stop,
  };
}
