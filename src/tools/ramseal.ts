/**
 * hearth-ramseal (jailer/src/ramseal.c), typed: a process that holds a sealed in-memory copy of a file (a VM
 * template's RAM) which no one can change, reached by root as /proc/<pid>/fd/<n> while the process runs. It
 * ends when told to, or when this process is gone (its standard input closes). Built by jailer/build.sh into
 * `<cache dir>/jailer/hearth-ramseal`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { HearthError } from '../errors.ts';

export const RAMSEAL_RELATIVE_PATH = path.join('jailer', 'hearth-ramseal');
/** Copying a template's RAM (tens of MiB read from the page cache) takes well under a second. */
const SEAL_TIMEOUT_MS = 30_000;

export interface SealedCopy {
  /** Where root opens the copy while it is held. */
  readonly path: string;
  /** Resolves when the holder has ended (told to, or on its own). */
  readonly ended: Promise<void>;
  /** Lets go of the copy: VMMs that mapped it keep it; no new one can open it. */
  end(): void;
}

export function sealCopy(binary: string, file: string): Promise<SealedCopy> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [file], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const ended = new Promise<void>((done) => child.once('close', () => done()));
    const fail = (why: string, missing = false) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        missing
          ? new HearthError('FailedPrecondition', 'HEARTH_ERR_TOOL_MISSING', `${binary} is missing: run jailer/build.sh (or scripts/setup.sh)`)
          : new HearthError('Internal', 'HEARTH_ERR_TOOL_FAILED', `sealing a copy of ${file} failed: ${why}`),
      );
    };
    const timer = setTimeout(() => fail(`no answer within ${SEAL_TIMEOUT_MS} ms`), SEAL_TIMEOUT_MS);
    child.once('error', (e: NodeJS.ErrnoException) => fail(e.message, e.code === 'ENOENT'));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code, signal) => fail(err.trim() || `hearth-ramseal exited with ${signal ?? code}`));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const line = /^(\d+)\n/.exec(out);
      if (!line || child.pid === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      // Held for as long as this process runs, without keeping it from exiting.
      child.unref();
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
      resolve({ path: `/proc/${child.pid}/fd/${line[1]}`, ended, end: () => child.kill('SIGTERM') });
    });
  });
}
