/**
 * Runs a whole test file inside a network namespace of its own, so the manager's bridge, taps, NAT table
 * and every address it uses exist only there. The file calls `await enterTestNetns()` first: in the
 * runner's process it creates the namespace, runs the same file again inside it (the runner reads the
 * inner process's report through the shared stdout), deletes the namespace and exits with its status.
 * In the inner process it returns and the tests run.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { addNetns, deleteNetns, netnsExecArgv, setLink } from '../../src/tools/ip.ts';

const MARK = 'HEARTH_TEST_NETNS';

export async function enterTestNetns(fileUrl: string): Promise<string> {
  const inside = process.env[MARK];
  if (inside) return inside;
  const ns = `hearth-t-${randomBytes(4).toString('hex')}`;
  await addNetns(ns);
  let status = 1;
  try {
    await setLink('lo', { up: true }, { netns: ns });
    const [program, args] = netnsExecArgv(ns, [process.execPath, ...process.execArgv, fileURLToPath(fileUrl)]);
    const result = spawnSync(program, args, { stdio: 'inherit', env: { ...process.env, [MARK]: ns } });
    status = result.status ?? 1;
  } finally {
    await deleteNetns(ns);
  }
  process.exit(status);
}
