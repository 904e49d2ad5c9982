// The Codex CLI (npm @openai/codex, pinned in package.json) against the real basalt binary's
// Responses door: `codex exec` with a custom model provider (wire_api = "responses") completes
// a turn in which the model calls Codex's shell tool, Codex runs the command in a temp workdir,
// sends the output back as function_call_output, and the model answers with final text.
//
// mock-upstream scripts the model through the `#mock` line of the prompt: `tool=exec_command`
// makes the first turn a call to Codex 0.169's shell tool; the mock ignores `tool=` once the
// conversation ends with a tool result, so the second turn answers "Tool result: <output>".
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_KEY, providersUnderTest, startTarget } from './harness.mjs';

const CODEX = path.resolve(import.meta.dirname, 'node_modules/@openai/codex/bin/codex.js');

/// The shell tool Codex 0.169 offers with fallback model metadata (checked against the request).
const SHELL_TOOL = 'exec_command';

/// The command the model asks for. Its output ("basalt-42") does not occur in the prompt, so
/// finding it in the final answer proves the command ran and its output went back to the model.
const COMMAND = "printf 'basalt-%s' $((6*7)) | tee proof.txt";
const MARKER = 'basalt-42';

/// workspace-write needs bubblewrap with user namespaces; where that is missing the test still
/// runs the command, without the sandbox, and says so.
function sandboxMode() {
  const probe = spawnSync('bwrap', ['--unshare-user', '--ro-bind', '/', '/', 'true'], { timeout: 5000 });
  return probe.status === 0 ? 'workspace-write' : 'danger-full-access';
}

/// Tool names in a request body of any wire format the mock may have received.
function toolNames(body) {
  return (body?.tools ?? []).map((t) => t.name ?? t.function?.name ?? t.toolSpec?.name).filter(Boolean);
}

/// Runs `codex exec` with its own CODEX_HOME, HOME and TMPDIR under `root`; resolves with
/// {code, stdout, stderr, lastMessage}.
function runCodex({ root, baseURL, prompt, sandbox }) {
  const home = path.join(root, 'codex-home');
  const work = path.join(root, 'work');
  // Codex refuses to put its helper binaries under TMPDIR, so CODEX_HOME must not be inside it.
  const tmp = path.join(root, 'tmp');
  for (const d of [home, work, tmp]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(home, 'config.toml'), `model = "gpt-mock"
model_provider = "basalt"
check_for_update_on_startup = false

[model_providers.basalt]
name = "Basalt"
base_url = "${baseURL}"
env_key = "BASALT_CODEX_TEST_KEY"
wire_api = "responses"
# fail fast instead of retrying: every request the mock sees is one model turn
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 30000

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
`);
  const lastMessage = path.join(root, 'last-message.txt');
  const args = [CODEX, 'exec', '--strict-config', '--skip-git-repo-check', '--color', 'never',
    '-s', sandbox, '-C', work, '-o', lastMessage, prompt];
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    CODEX_HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    BASALT_CODEX_TEST_KEY: ADMIN_KEY,
    // Nothing but loopback: anything else Codex tries goes to a closed port and fails at once.
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    ALL_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`codex exec timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60000);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code, stdout, stderr, work,
        lastMessage: existsSync(lastMessage) ? readFileSync(lastMessage, 'utf8') : null,
      });
    });
  });
}

// The Responses door in front of each provider type (harness PROVIDERS).
for (const provider of providersUnderTest(['openai-responses', 'anthropic', 'openai'])) {
  describe(`Codex CLI, Responses door, provider ${provider}`, () => {
    let gw;
    let root;

    before(async () => {
      gw = await startTarget({ provider });
      root = mkdtempSync(path.join(tmpdir(), 'basalt-codex-'));
    });

    after(async () => {
      await gw?.stop();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    test('codex exec: shell tool call, command runs, answer after the tool result', async (t) => {
      const sandbox = sandboxMode();
      if (sandbox !== 'workspace-write') t.diagnostic('bubblewrap unusable here: running unsandboxed');
      const args = JSON.stringify({ cmd: COMMAND });
      const prompt = `#mock tool=${SHELL_TOOL} args=${args}\nWrite the proof file.`;
      const run = await runCodex({ root: path.join(root, 'tool-turn'), baseURL: gw.baseURL, prompt, sandbox });
      const context = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      assert.equal(run.code, 0, context);

      // The command really ran, in the workdir.
      const proof = path.join(run.work, 'proof.txt');
      assert.ok(existsSync(proof), `proof.txt was created\n${context}`);
      assert.equal(readFileSync(proof, 'utf8'), MARKER);

      // The final answer is the second turn's text, built from the command's output.
      assert.match(run.stdout, /Tool result: /, context);
      assert.ok(run.stdout.includes(MARKER), context);
      assert.ok(run.lastMessage?.includes(MARKER), `--output-last-message: ${run.lastMessage}`);

      // Exactly two model turns reached the provider, in its own wire format; the second one
      // carried the tool's output and Codex offered its shell tool.
      const stats = await gw.mock.stats();
      const path_ = gw.direct ? '/v1/responses' : gw.provider.path;
      assert.equal(stats.by_path[path_], 2, JSON.stringify(stats));
      const last = await gw.mock.lastRequest();
      assert.ok(last.text.includes(MARKER), 'the tool output went back to the model');
      assert.ok(toolNames(last.json).includes(SHELL_TOOL), `tools: ${toolNames(last.json)}`);
    });

    test('codex exec: an upstream failure ends the run with the error message', async () => {
      await gw.mock.resetStats();
      const run = await runCodex({
        root: path.join(root, 'failure'), baseURL: gw.baseURL, prompt: '#mock status=500', sandbox: 'read-only',
      });
      const context = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      assert.notEqual(run.code, 0, context);
      assert.equal(run.stdout.trim(), '', context);
      // The gateway answers 502 with an OpenAI error body; Codex shows its message. (A bare 500,
      // what the mock alone sends, gets Codex's generic "high demand" text instead.)
      if (!gw.direct) assert.match(run.stderr, /502[^\n]*injected error 500/, context);
      const stats = await gw.mock.stats();
      assert.ok(stats.requests >= 1, JSON.stringify(stats));
    });
  });
}
