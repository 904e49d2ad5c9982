// Starts the real basalt binary (and mock upstreams) for client tests, on free ports.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BASALT = process.env.BASALT_BINARY ?? path.resolve(import.meta.dirname, '../../build/basalt');

/// The root admin key every gateway started here gets (BASALT_ADMIN_KEY on first start).
export const ADMIN_KEY = 'bsk-test-root-admin-key-for-client-tests';

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

/// A mock upstream plus a gateway routing model `gpt-mock` to it. Returns {baseURL, stop}.
export async function startGateway({ mockArgs = [], extraToml = '' } = {}) {
  const mock = await startProcess(['mock-upstream', '--listen', '127.0.0.1:0', ...mockArgs]);
  const dir = mkdtempSync(path.join(tmpdir(), 'basalt-client-'));
  const config = path.join(dir, 'basalt.toml');
  writeFileSync(config, `data_dir = "${dir}/data"
[server]
listen = "127.0.0.1:0"
threads = 2

[[providers]]
name = "mock"
type = "openai"
base_url = "http://${mock.address}/v1"

[[models]]
name = "gpt-mock"
[[models.routes]]
provider = "mock"
model = "mock-model"
${extraToml}
`);
  const gw = await startProcess(['serve', '--config', config]);
  return {
    baseURL: `http://${gw.address}/v1`,
    address: gw.address,
    async stop() {
      for (const p of [gw.proc, mock.proc]) {
        if (p.exitCode === null) {
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await exited;
        }
      }
    },
  };
}
