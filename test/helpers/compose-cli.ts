/**
 * Debian's `docker-compose` (1.29, docker-py underneath) on one manager's Docker socket, in a project
 * directory of its own holding the compose file, with the environment of the test's `docker` CLI (its own
 * configuration directory, no DOCKER_* variable of the caller's).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerCli, DockerResult } from './docker-cli.ts';
import { runProgram, succeeded } from './run-program.ts';

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
    return runProgram('docker-compose', ['--no-ansi', ...args], { cwd: this.dir, env: this.docker.env(), timeoutMs });
  }

  /** Runs it to its end; throws with everything it printed unless it exits 0. */
  async ok(args: string[]): Promise<DockerResult> {
    return succeeded(`docker-compose ${args.join(' ')}`, await this.run(args));
  }

  close(): void {
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}
