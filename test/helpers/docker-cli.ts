/**
 * The real `docker` CLI pointed at one manager's Docker socket, with a configuration directory of its own
 * (so nothing of the host's ~/.docker, contexts or credentials matters) and no DOCKER_* variable of the
 * caller's but those a test sets.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DockerRunOptions {
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Kill the CLI after this long (then `code` is null); default 120 s. */
  timeoutMs?: number;
}

export class DockerCli {
  readonly configDir = mkdtempSync(path.join(os.tmpdir(), 'hearth-docker-config-'));

  constructor(readonly socket: string) {}

  get host(): string {
    return `unix://${this.socket}`;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOCKER_')) env[k] = v;
    return { ...env, DOCKER_CONFIG: this.configDir, DOCKER_HOST: this.host, DOCKER_CLI_HINTS: 'false', ...extra };
  }

  /** Runs `docker ...args` to its end. */
  run(args: string[], opts: DockerRunOptions = {}): Promise<DockerResult> {
    const child = spawn('docker', args, { env: this.env(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    return new Promise((resolve) => {
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs `docker ...args` and returns its stdout; throws with everything it printed unless it exits 0. */
  async ok(args: string[], opts: DockerRunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  close(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }
}
