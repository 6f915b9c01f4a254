/**
 * Host directories a container may mount (`host_path`): absolute, existing directories that lie under one of
 * the allowed roots (`volumes.hostRoots`; none configured means any directory, as Docker allows) once every
 * symlink is resolved, so neither `..` nor a symlink in the path can lead outside them. A path is checked when
 * a container is created or changed (a 400 naming the field) and resolved again at every start, since what
 * its symlinks point to may have changed since.
 * @module
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '../errors.ts';

/** The directory `given` names, symlinks resolved; InvalidArgument naming `field` when it may not be shared. */
export async function resolveHostPath(given: string, roots: readonly string[], field: string): Promise<string> {
  const refuse = (why: string) => invalidArgument('HEARTH_ERR_HOST_PATH', `${field} ${JSON.stringify(given)} ${why}`, field);
  if (!path.isAbsolute(given)) throw refuse('is not an absolute path');
  let resolved: string;
  try {
    // Cleaned first, as Docker cleans a bind mount's source (and as the container's record stores it).
    resolved = await realpath(path.resolve(given));
  } catch {
    throw refuse('does not exist on the host (create the directory first)');
  }
  if (!(await stat(resolved)).isDirectory()) throw refuse('is not a directory (only directories can be shared)');
  // virtiofsd takes its directory in a comma-separated option list.
  if (resolved.includes(',')) throw refuse('contains a comma, which the directory sharing cannot carry');
  if (roots.length === 0) return resolved;
  for (const root of roots) {
    const base = await realpath(root).catch(() => undefined);
    if (base !== undefined && (resolved === base || resolved.startsWith(base === '/' ? '/' : `${base}/`))) return resolved;
  }
  const through = resolved === path.resolve(given) ? '' : ` (it resolves to ${resolved})`;
  throw refuse(`is outside the host directories containers may mount${through}: allowed are ${roots.join(', ')} (volumes.hostRoots)`);
}
