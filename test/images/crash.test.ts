/**
 * kill -9 during a pull, then pull again: it succeeds and the store holds no partial file. kill -9 during a
 * collection, then start again: the store is whole, and holds nothing the collection meant to remove.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ImageStore } from '../../src/images/image-store.ts';
import { startProxy, type ProxyOptions, type TestProxy } from '../helpers/registry-proxy.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

let reg: TestRegistry;
let proxy: TestProxy;
const proxyOpts: ProxyOptions = { throttle: 256 * 1024 };
let dir: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-crash-'));
  reg = await startRegistry();
  proxy = await startProxy(reg.url, proxyOpts);
  await pushImage(new Pusher(reg.url), 'big/app', 'v1', [
    { entries: [{ path: 'etc/os-release', content: 'ID=test\n' }] },
    { entries: [{ path: 'blob.bin', content: randomBytes(3 * 1024 * 1024) }], compression: 'none' },
  ]);
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('survives kill -9 mid-download', async () => {
  const dataDir = path.join(dir, 'data');
  const ref = `${proxy.host}/big/app:v1`;
  const cli = fileURLToPath(new URL('../helpers/pull-cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, dataDir, ref], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        const e = JSON.parse(line) as { type: string; downloaded?: number; size?: number };
        if (e.type === 'layer' && e.downloaded! > 64 * 1024 && e.size! > 1024 * 1024) resolve();
        if (e.type === 'exit') reject(new Error('the pull finished before it could be killed'));
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const tmp = path.join(dataDir, 'images', 'tmp');
  assert.ok(fs.readdirSync(tmp).some((n) => n.endsWith('.part')), 'killed while a blob was being written');

  proxyOpts.throttle = 0;
  const store = new ImageStore({ dataDir });
  const r = await store.ensureRootfs(ref);
  assert.ok(fs.existsSync(r.diskPath));
  assert.deepEqual(fs.readdirSync(tmp), [], 'no partial file left');
  const blobDir = path.join(dataDir, 'images', 'blobs', 'sha256');
  for (const n of fs.readdirSync(blobDir)) {
    assert.equal(createHash('sha256').update(fs.readFileSync(path.join(blobDir, n))).digest('hex'), n, `blob ${n} is intact`);
  }
});

it('survives kill -9 mid-collection: the next start finishes it', async () => {
  const dataDir = path.join(dir, 'collect');
  const pusher = new Pusher(reg.url);
  const refs: string[] = [];
  const shared = { entries: [{ path: 'etc/os-release', content: 'ID=shared\n' }] };
  for (const name of ['one', 'two', 'three']) {
    await pushImage(pusher, `gc/${name}`, 'v1', [shared, { entries: [{ path: name, content: randomBytes(128 * 1024) }] }]);
    refs.push(`${reg.host}/gc/${name}:v1`);
  }
  const first = new ImageStore({ dataDir });
  const disks: string[] = [];
  for (const ref of refs) disks.push((await first.ensureRootfs(ref)).diskPath); // pulled in this order: three is the newest
  await first.close();

  const cli = fileURLToPath(new URL('../helpers/collect-cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (const l of buf.split('\n').slice(0, -1)) {
        const m = (JSON.parse(l) as { message: string }).message;
        if (m.startsWith('removed the disk')) resolve();
        if (m === 'exit') reject(new Error('the collection finished before it could be killed'));
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  // killed half-way: the references are gone, one removed image's disk and every blob are still here
  const refsFile = JSON.parse(fs.readFileSync(path.join(dataDir, 'images', 'refs.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(refsFile), [refs[2]]);
  assert.equal(disks.filter((d) => fs.existsSync(d)).length, 2, 'one removed disk left');
  const blobDir = path.join(dataDir, 'images', 'blobs', 'sha256');
  assert.equal(fs.readdirSync(blobDir).length, 3 * 3 + 1, 'every blob left: three manifests, configs and own layers, and the shared layer');

  // the next start: the store opens (tmp emptied) and collects once, as main.ts has it do
  const next = new ImageStore({ dataDir, keepUnused: 1, collectIntervalMs: 3_600_000 });
  next.start();
  await next.close(); // waits for that collection
  assert.deepEqual(disks.map((d) => fs.existsSync(d)), [false, false, true]);
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'images', 'tmp')), []);
  const again = new ImageStore({ dataDir });
  const listed = await again.list();
  assert.deepEqual(listed.map((i) => i.refs), [[refs[2]]]);
  const kept = await again.inspect(refs[2]!);
  const needed = [kept.manifestDigest, kept.configDigest, ...kept.layers.map((l) => l.digest)].map((d) => d.slice(7)).sort();
  assert.deepEqual(fs.readdirSync(blobDir).sort(), needed, 'exactly the kept image\'s blobs');
  for (const n of needed) {
    assert.equal(createHash('sha256').update(fs.readFileSync(path.join(blobDir, n))).digest('hex'), n, `blob ${n} is intact`);
  }
  assert.equal((await again.ensureRootfs(refs[2]!)).diskPath, disks[2], 'the kept image is still ready');
});
