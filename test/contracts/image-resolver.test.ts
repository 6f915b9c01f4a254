/**
 * The image contract (./image-resolver.case.ts) against the fake the containers tests use and against the
 * ImageStore pulling from a real registry (Debian's docker-registry, test/helpers/registry.ts) and building
 * real disks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageConfig } from '../../src/containers/deps.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import { FakeImages } from '../containers/fakes.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { freePort, startRegistry } from '../helpers/registry.ts';
import { imageResolverContract, type ContractImage } from './image-resolver.case.ts';

imageResolverContract('FakeImages', async (images) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-contract-fake-images-'));
  const refs = { app: 'contract/app:v1', other: 'contract/other:v1', progress: 'contract/progress:v1' } satisfies Record<ContractImage, string>;
  const fake = new FakeImages({ [refs.app]: images.app, [refs.other]: images.other, [refs.progress]: images.progress }, { dir });
  fake.unreachable.add('unreachable.invalid/contract/app:v1');
  return {
    images: fake,
    refs,
    missingRepository: 'contract/nothing:v1',
    missingTag: 'contract/app:v0',
    unreachable: 'unreachable.invalid/contract/app:v1',
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

imageResolverContract('ImageStore', async (images) => {
  const registry = await startRegistry();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hearth-contract-images-'));
  try {
    const pusher = new Pusher(registry.url);
    for (const [name, config] of Object.entries(images)) {
      await pushImage(pusher, `contract/${name}`, 'v1', [{ entries: [{ path: 'bin/', type: 'dir' }, { path: `${name}.txt`, content: name }] }], { config: dockerConfig(config) });
    }
    const closed = `127.0.0.1:${await freePort()}`;
    return {
      images: new ImageStore({ dataDir, retries: 0 }),
      refs: { app: `${registry.host}/contract/app:v1`, other: `${registry.host}/contract/other:v1`, progress: `${registry.host}/contract/progress:v1` },
      missingRepository: `${registry.host}/contract/nothing:v1`,
      missingTag: `${registry.host}/contract/app:v0`,
      unreachable: `${closed}/contract/app:v1`,
      async close() {
        await registry.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await registry.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
});

/** The same config in the image JSON's words. */
function dockerConfig(c: ImageConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Entrypoint: c.entrypoint ?? null,
    Cmd: c.cmd ?? null,
    Env: c.env ?? [],
    WorkingDir: c.workingDir ?? '',
    User: c.user ?? '',
  };
  if (c.stopSignal) out.StopSignal = c.stopSignal;
  return out;
}
