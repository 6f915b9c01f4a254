/**
 * The data directory holds the database (every container's settings, env_vars included), container output
 * and the VMs' run directories with their control sockets: nobody but its owner has any business in it.
 * It is made 0700 when it is created and tightened to 0700 when it exists with a looser mode (an older
 * version made it only when new, and an operator may have made it by hand).
 * @module
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';

/** Creates `dir` if needed and makes it 0700; returns its mode before, if that was looser. */
export function prepareDataDir(dir: string): number | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const before = statSync(dir).mode & 0o7777;
  if (before === 0o700) return undefined;
  chmodSync(dir, 0o700);
  return before;
}
