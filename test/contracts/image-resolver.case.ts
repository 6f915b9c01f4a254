/**
 * What `ImageResolver` (src/containers/deps.ts) promises the containers layer, as one set of cases that
 * every implementation runs: the ImageStore against a real registry and the fake the containers tests use
 * (test/containers/fakes.ts). The cases name the images they need by their configs (CONTRACT_IMAGES); each
 * subject makes them exist in its own terms and says by which reference.
 *
 * The containers layer relies on: a disk that exists, its filesystem type and the image's config as it
 * was built, a manifest digest that tells images apart (what the collector will go by), the same answer
 * every time; and for an image it cannot have, a HearthError of the right kind whose message names the
 * image, since that message becomes the container's `error_message`.
 * @module
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ImageConfig, ImageResolver, PullProgress } from '../../src/containers/deps.ts';
import { HearthError, type ErrorKind } from '../../src/errors.ts';

/** The images the cases use, by name. */
export const CONTRACT_IMAGES = {
  app: { entrypoint: ['/bin/sh', '-c'], cmd: ['echo app'], env: ['PATH=/bin', 'APP=1'], workingDir: '/srv', user: '1000:1000', stopSignal: 'SIGQUIT' },
  other: { cmd: ['/bin/true'], env: ['PATH=/bin'] },
  /** Resolved first by the progress case. */
  progress: { cmd: ['/bin/true'], env: ['PATH=/bin', 'PROGRESS=1'] },
} satisfies Record<string, ImageConfig>;

export type ContractImage = keyof typeof CONTRACT_IMAGES;

export interface ImageSubject {
  images: ImageResolver;
  /** The reference of each of CONTRACT_IMAGES, made to exist with that config. */
  refs: Record<ContractImage, string>;
  /** A repository that does not exist. */
  missingRepository: string;
  /** A tag that does not exist, of a repository that does. */
  missingTag: string;
  /** An image on a registry that does not answer. */
  unreachable: string;
  close(): Promise<void>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Real pulls and disk builds on a busy machine: a bound so that a hung pull fails, not a measurement. */
const CASE_TIMEOUT_MS = 300_000;

function failsNaming(kind: ErrorKind, code: string, ...names: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof HearthError, `a HearthError, not ${String(e)}`);
    assert.deepEqual([e.kind, e.code], [kind, code], e.message);
    for (const n of names) assert.ok(e.message.includes(n), `"${e.message}" names ${n}`);
    return true;
  };
}

/** `registry/repo:tag` -> the repository path and the tag. */
function parts(ref: string): { repository: string; tag: string } {
  const tagAt = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  const [name, tag] = tagAt > slash ? [ref.slice(0, tagAt), ref.slice(tagAt + 1)] : [ref, 'latest'];
  return { repository: name.split('/').slice(-2).join('/'), tag };
}

export function imageResolverContract(name: string, makeSubject: (images: typeof CONTRACT_IMAGES) => Promise<ImageSubject>): void {
  describe(`ImageResolver contract: ${name}`, { timeout: CASE_TIMEOUT_MS }, () => {
    let s: ImageSubject;
    before(async () => {
      s = await makeSubject(CONTRACT_IMAGES);
    });
    after(async () => {
      await s?.close();
    });

    it('a known image gives a disk that exists, its filesystem type, its config and its manifest digest; again the same', async () => {
      const first = await s.images.ensureRootfs(s.refs.app);
      assert.ok(statSync(first.diskPath).isFile(), `${first.diskPath} is a file`);
      assert.ok(first.fsType === 'ext4' || first.fsType === 'erofs', first.fsType);
      assert.match(first.manifestDigest, DIGEST);
      for (const [key, value] of Object.entries(CONTRACT_IMAGES.app)) {
        assert.deepEqual(first.config[key as keyof ImageConfig], value, `config.${key}`);
      }
      const again = await s.images.ensureRootfs(s.refs.app);
      assert.deepEqual(again, first);
    });

    it('two images have two disks and two digests', async () => {
      const app = await s.images.ensureRootfs(s.refs.app);
      const other = await s.images.ensureRootfs(s.refs.other);
      assert.notEqual(other.diskPath, app.diskPath);
      assert.notEqual(other.manifestDigest, app.manifestDigest);
      assert.match(other.manifestDigest, DIGEST);
      assert.deepEqual(other.config.cmd, CONTRACT_IMAGES.other.cmd);
      assert.ok(!other.config.entrypoint?.length, 'no entrypoint of the other image');
    });

    it('progress comes in the documented order, to a caller that joins too; an image here reports only ready', async () => {
      const heard: PullProgress[][] = [[], []];
      const [a, b] = await Promise.all(heard.map((h) => s.images.ensureRootfs(s.refs.progress, { onProgress: (p) => h.push(p) })));
      assert.equal(a!.manifestDigest, b!.manifestDigest);
      for (const h of heard) {
        assert.match(h.map((p) => p.type).join(' '), /^resolving resolved (layer )*building ready$/);
        const last = h.at(-1)!;
        assert.ok(last.type === 'ready' && last.manifestDigest === a!.manifestDigest && last.diskPath === a!.diskPath);
      }
      const again: PullProgress[] = [];
      await s.images.ensureRootfs(s.refs.progress, { onProgress: (p) => again.push(p) });
      assert.deepEqual(again.map((p) => p.type), ['ready']);
    });

    it('release lets a container go; the image still resolves, by reference and by digest, and releasing twice or an unknown id is harmless', async () => {
      const held = await s.images.ensureRootfs(s.refs.other, { user: 'contract-c1' });
      s.images.release('contract-c1');
      s.images.release('contract-c1');
      s.images.release('contract-nobody');
      assert.deepEqual(await s.images.ensureRootfs(s.refs.other), held);
      const byDigest = await s.images.ensureRootfs(s.refs.other, { user: 'contract-c2', digest: held.manifestDigest });
      assert.deepEqual([byDigest.manifestDigest, byDigest.config], [held.manifestDigest, held.config]);
      s.images.release('contract-c2');
    });

    it('an unknown repository fails NotFound, naming it', async () => {
      const { repository } = parts(s.missingRepository);
      await assert.rejects(s.images.ensureRootfs(s.missingRepository), failsNaming('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', repository));
    });

    it('an unknown tag of a known repository fails NotFound, naming the repository and the tag', async () => {
      const { repository, tag } = parts(s.missingTag);
      await assert.rejects(s.images.ensureRootfs(s.missingTag), failsNaming('NotFound', 'HEARTH_ERR_IMAGE_NOT_FOUND', repository, tag));
    });

    it('a registry that does not answer fails Unavailable, naming the image', async () => {
      const { repository } = parts(s.unreachable);
      await assert.rejects(s.images.ensureRootfs(s.unreachable), failsNaming('Unavailable', 'HEARTH_ERR_REGISTRY_UNAVAILABLE', repository));
    });
  });
}
