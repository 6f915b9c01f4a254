/**
 * The real manager as a separate process (`node src/main.ts`), configured through HEARTH_* variables
 * the way a user would, so tests can kill -9 it and start it again on the same data directory.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface ManagerProcess {
  url: string;
  pid: number;
  /** Everything the manager printed, for failure messages. */
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export interface ManagerOptions {
  dataDir: string;
  port: number;
  registryHost: string;
  env?: Record<string, string>;
}

export async function startManager(options: ManagerOptions): Promise<ManagerProcess> {
  const env = {
    ...process.env,
    HEARTH_DATA_DIR: options.dataDir,
    HEARTH_PORT: String(options.port),
    HEARTH_REGISTRY_MIRRORS: `docker.io=http://${options.registryHost}`,
    HEARTH_REGISTRY_INSECURE: options.registryHost,
    HEARTH_ACCEL: 'tcg',
    HEARTH_LOG_LEVEL: 'warn',
    HEARTH_DNS: '10.213.0.1',
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
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
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
