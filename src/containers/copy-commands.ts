/**
 * `docker cp` behind the manager's door: a path's stat, a tar of it, a tar extracted into a directory. The
 * container must be running: its root filesystem (the image's disk under the VM's writable layer) is
 * assembled inside the VM, and only the guest agent can read and write it (Docker also copies from a
 * stopped container; Hearth answers 409 then).
 * @module
 */
import type { Readable } from 'node:stream';
import { invalidArgument } from '../errors.ts';
import type { PathStat, Sandbox } from '../sandbox/sandbox.ts';
import { stateConflict, type ContainerContext } from './context.ts';

/** The guest's limit for a path (PATH_MAX, with its NUL). */
const PATH_MAX = 4095;

/** A path as Docker takes it: absolute or relative to `/`, resolved inside the container's root. */
function checkPath(path: string): string {
  if (path === '' || path.length > PATH_MAX || path.includes('\u0000')) {
    throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `query/path must be a path of 1-${PATH_MAX} characters without NUL`, 'query/path');
  }
  return path.startsWith('/') ? path : `/${path}`;
}

async function runningSandbox(ctx: ContainerContext, id: string, what: string): Promise<Sandbox> {
  const c = await ctx.get(id);
  const run = ctx.runs.run(c.id);
  if (c.state !== 'running' || !run?.sandbox || !run.started || run.finished) {
    throw stateConflict(`container ${c.name} is ${c.state}; ${what} needs it running (its root filesystem lives in its VM)`);
  }
  return run.sandbox;
}

/** The stat of `path` (NotFound HEARTH_ERR_PATH_NOT_FOUND when missing). */
export async function statPath(ctx: ContainerContext, id: string, path: string): Promise<PathStat> {
  return (await runningSandbox(ctx, id, 'a copy')).stat(checkPath(path));
}

/** The stat of `path` and a tar of it, streamed from the guest. */
export async function archivePath(ctx: ContainerContext, id: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
  const sandbox = await runningSandbox(ctx, id, 'a copy');
  const p = checkPath(path);
  const stat = await sandbox.stat(p);
  return { stat, tar: await sandbox.copyOut(p) };
}

/** Extracts `tar` into the directory `path`. */
export async function extractArchive(ctx: ContainerContext, id: string, path: string, tar: Readable): Promise<void> {
  const sandbox = await runningSandbox(ctx, id, 'a copy');
  await sandbox.copyIn(checkPath(path), tar);
  ctx.log.info({ container: id }, `extracted an archive into ${path}`);
}
