/**
 * The real manager as a separate process (`node src/main.ts`, or with `compiled` what scripts/start.sh runs:
 * `node dist/cli/hearth.js serve`), configured through HEARTH_* variables the way a user would, so tests
 * can kill -9 it and start it again on the same data directory.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
const COMPILED_CLI = path.resolve(import.meta.dirname, '../../dist/cli/hearth.js');

export interface ManagerProcess {
  url: string;
  pid: number;
  /** Everything the manager printed, for failure messages. */
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM, then the exit status (null if a signal ended it). */
  stop(): Promise<number | null>;
}

export interface ManagerOptions {
  dataDir: string;
  port: number;
  /** The test registry, as the docker.io mirror; none for a manager that pulls nothing. */
  registryHost?: string;
  env?: Record<string, string>;
  /** Run the build in dist/ on plain Node, without a TypeScript loader (tests build it first). */
  compiled?: boolean;
}

export async function startManager(options: ManagerOptions): Promise<ManagerProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HEARTH_DATA_DIR: options.dataDir,
    HEARTH_PORT: String(options.port),
    ...(options.registryHost === undefined
      ? {}
      : { HEARTH_REGISTRY_MIRRORS: `docker.io=http://${options.registryHost}`, HEARTH_REGISTRY_INSECURE: options.registryHost }),
    HEARTH_ACCEL: 'tcg',
    HEARTH_LOG_LEVEL: 'warn',
    HEARTH_DNS: '10.213.0.1',
    // Each manager's own Docker socket, never the host's /run/hearth/docker.sock.
    HEARTH_DOCKER_SOCKET: path.join(options.dataDir, 'docker.sock'),
    ...options.env,
  };
  if (options.compiled) delete env.NODE_OPTIONS; // no loader may come in by the environment either
  const argv = options.compiled ? [COMPILED_CLI, 'serve'] : ['--import', 'tsx', MAIN];
  const child: ChildProcess = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the manager did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    output: () => output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
