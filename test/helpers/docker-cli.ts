/**
 * The real `docker` CLI pointed at one manager's Docker socket, with a configuration directory of its own
 * (so nothing of the host's ~/.docker, contexts or credentials matters) and no DOCKER_* variable of the
 * caller's but those a test sets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProgram, succeeded, type ProgramResult } from './run-program.ts';

export type DockerResult = ProgramResult;

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
    return runProgram('docker', args, { ...opts, env: this.env(opts.env) });
  }

  /** Runs `docker ...args` and returns its stdout; throws with everything it printed unless it exits 0. */
  async ok(args: string[], opts: DockerRunOptions = {}): Promise<string> {
    return succeeded(`docker ${args.join(' ')}`, await this.run(args, opts)).stdout;
  }

  close(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }
}
