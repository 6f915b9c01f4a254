/**
 * hearth-ramseal and RamSeals: the copy of a template's RAM that resumed VMs map is the file's content,
 * allocated whole, held once, and cannot be changed by anyone (root included) through any path; its holder
 * ends when told to and when the process that started it dies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { open, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RAMSEAL_RELATIVE_PATH, sealCopy } from '../../src/tools/ramseal.ts';
import { RamSeals } from '../../src/vmm/ram-seals.ts';
import { CACHE_DIR } from '../helpers/vm-env.ts';

const BINARY = path.join(CACHE_DIR, RAMSEAL_RELATIVE_PATH);
const PAGE = 4096;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pidOf = (procPath: string) => Number(procPath.split('/')[2]);

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (check()) return true;
  return check();
}

describe('sealed copies of a template\'s RAM', () => {
  let dir: string;
  let ram: string;
  let expected: Buffer;
  // Holders do not keep a process alive (a manager's server does): this test waits on them with nothing else.
  let hold: NodeJS.Timeout;
  before(async () => {
    hold = setInterval(() => undefined, 1_000);
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-ramseal-'));
    ram = path.join(dir, 'ram');
    // Data, a page of zeros, a hole, data again at the end: what a guest's RAM file looks like.
    expected = Buffer.alloc(64 * PAGE);
    expected.write('template ram', 0);
    expected.write('last page', 63 * PAGE);
    await writeFile(ram, expected.subarray(0, 2 * PAGE));
    await truncate(ram, 64 * PAGE);
    const f = await open(ram, 'r+');
    await f.write(expected, 63 * PAGE, PAGE, 63 * PAGE);
    await f.close();
  });
  after(async () => {
    clearInterval(hold);
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the file\'s content, which no one can change: no write, no resize, no new seal, root included', async () => {
    const copy = await sealCopy(BINARY, ram);
    try {
      assert.deepEqual(await readFile(copy.path), expected);
      // Every page is allocated up front: a clone's first touch of a hole allocates nothing (charged to nobody).
      assert.ok((await stat(copy.path)).blocks * 512 >= expected.length, 'the copy is allocated whole');
      const f = await open(copy.path, 'r+');
      try {
        await assert.rejects(f.write(Buffer.from('planted'), 0, 7, 0), { code: 'EPERM' });
        await assert.rejects(f.truncate(PAGE), { code: 'EPERM' });
        await assert.rejects(f.truncate(128 * PAGE), { code: 'EPERM' });
      } finally {
        await f.close();
      }
      await assert.rejects(writeFile(copy.path, 'planted'), { code: 'EPERM' });
      assert.deepEqual(await readFile(copy.path), expected, 'unchanged');
    } finally {
      copy.end();
      await copy.ended;
    }
    assert.equal(alive(pidOf(copy.path)), false, 'its holder ended when told to');
  });

  it('is held once per file by RamSeals, again after the file is written anew, and let go on forget', async () => {
    const seals = new RamSeals(BINARY);
    const first = await seals.pathOf(ram);
    assert.equal(await seals.pathOf(ram), first, 'one copy per file');
    await writeFile(ram, expected);
    const second = await seals.pathOf(ram);
    assert.notEqual(second, first, 'a file written anew gets a new copy');
    assert.ok(await until(() => !alive(pidOf(first)), 5_000), 'the old copy\'s holder ended');
    seals.forget(ram);
    assert.ok(await until(() => !alive(pidOf(second)), 5_000), 'forget ends the holder');
  });

  it('ends with the process that started it, whatever killed that process', async () => {
    const script = `import { sealCopy } from ${JSON.stringify(path.resolve('src/tools/ramseal.ts'))};
      const c = await sealCopy(${JSON.stringify(BINARY)}, ${JSON.stringify(ram)}); console.log(c.path); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the child made no copy within 30 s')), 30_000);
        child.stdout.once('data', (b: Buffer) => {
          clearTimeout(timer);
          resolve(b.toString().trim());
        });
      });
      const holder = pidOf(line);
      assert.ok(alive(holder));
      child.kill('SIGKILL');
      assert.ok(await until(() => !alive(holder), 5_000), 'the holder is gone with it');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses what is not a RAM image, naming it', async () => {
    const odd = path.join(dir, 'odd');
    await writeFile(odd, 'not whole pages');
    await assert.rejects(sealCopy(BINARY, odd), (e: Error & { code?: string }) => e.code === 'HEARTH_ERR_TOOL_FAILED' && e.message.includes('not a RAM image'));
    await assert.rejects(sealCopy(path.join(dir, 'no-such-binary'), ram), { code: 'HEARTH_ERR_TOOL_MISSING' });
  });
});
