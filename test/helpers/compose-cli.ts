/**
 * Debian's `docker-compose` (1.29, docker-py underneath) on one manager's Docker socket, in a project
 * directory of its own holding the compose file, with the environment of the test's `docker` CLI (its own
 * configuration directory, no DOCKER_* variable of the caller's).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerCli, DockerResult } from './docker-cli.ts';

export class ComposeProject {
  readonly dir: string;

  /** `name` is the project's (the directory's name, as Compose takes it). */
  constructor(
    private readonly docker: DockerCli,
    readonly name: string,
    composeFile: string,
  ) {
    this.dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'hearth-compose-')), name);
    mkdirSync(this.dir);
    writeFileSync(path.join(this.dir, 'docker-compose.yml'), composeFile);
  }

  run(args: string[], timeoutMs = 180_000): Promise<DockerResult> {
    const child = spawn('docker-compose', ['--no-ansi', ...args], { cwd: this.dir, env: this.docker.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs it to its end; throws with everything it printed unless it exits 0. */
  async ok(args: string[]): Promise<DockerResult> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  close(): void {
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}
