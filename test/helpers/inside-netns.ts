/**
 * Runs a whole test file inside a network namespace of its own, so the manager's bridge, taps, NAT table
 * and every address it uses exist only there. The file calls `await enterTestNetns()` first: in the
 * runner's process it creates the namespace, runs the same file again inside it (the runner reads the
 * inner process's report through the shared stdout), deletes the namespace and exits with its status.
 * In the inner process it returns and the tests run.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNetns, deleteNetns, setLink } from '../../src/tools/ip.ts';

/** Where `ip netns add` binds its namespaces. */
const NETNS_DIR = '/run/netns';

const MARK = 'HEARTH_TEST_NETNS';

export async function enterTestNetns(fileUrl: string): Promise<string> {
  const inside = process.env[MARK];
  if (inside) return inside;
  const ns = `hearth-t-${randomBytes(4).toString('hex')}`;
  await addNetns(ns);
  let status = 1;
  try {
    await setLink('lo', { up: true }, { netns: ns });
    // nsenter switches only the network namespace. `ip netns exec` would also remount /sys, and with it
    // lose the cgroup hierarchies, so the manager under test would run its VMMs without cgroups.
    const argv = ['--net=' + path.join(NETNS_DIR, ns), '--', process.execPath, ...process.execArgv, fileURLToPath(fileUrl)];
    const result = spawnSync('nsenter', argv, { stdio: 'inherit', env: { ...process.env, [MARK]: ns } });
    status = result.status ?? 1;
  } finally {
    await deleteNetns(ns);
  }
  process.exit(status);
}
