/**
 * Images in Docker's shapes (src/api/docker/shapes/image.ts) and `docker pull`'s progress stream
 * (shapes/pull-progress.ts): IDs, familiar names, repo digests, history, and the lines a pull's progress
 * becomes, in the CLI's words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageHistory, imageInspect, imageSummary, repoDigests, repoTags } from '../../../src/api/docker/shapes/image.ts';
import { humanSize, progressBar, PullTranslator } from '../../../src/api/docker/shapes/pull-progress.ts';
import type { ImageDetails } from '../../../src/containers/deps.ts';

const hex = (c: string) => c.repeat(64);
const LAYER_A = `sha256:${hex('a')}`;
const LAYER_B = `sha256:${hex('b')}`;

function details(more: Partial<ImageDetails> = {}): ImageDetails {
  return {
    manifestDigest: `sha256:${hex('1')}`,
    indexDigest: `sha256:${hex('2')}`,
    configDigest: `sha256:${hex('3')}`,
    refs: ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36', 'localhost:5000/team/app:1', `docker.io/library/busybox@sha256:${hex('2')}`],
    size: 2_000_000,
    bytesOnDisk: 6_000_000,
    created: '2024-01-02T03:04:05Z',
    platform: 'linux/amd64',
    disk: { path: '/d', fsType: 'erofs', bytes: 4_400_000 },
    users: [{ id: 'c1', name: 'web' }],
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: LAYER_A, size: 1_500_000 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: LAYER_B, size: 500_000 },
    ],
    config: {
      entrypoint: [],
      cmd: ['sh'],
      env: ['PATH=/bin'],
      workingDir: '',
      user: '',
      exposedPorts: ['80/tcp'],
      volumes: [],
      stopSignal: '',
      shell: [],
      labels: { maintainer: 'me' },
      os: 'linux',
      architecture: 'amd64',
      created: '2024-01-02T03:04:05Z',
      diffIds: [`sha256:${hex('d')}`, `sha256:${hex('e')}`],
      history: [
        { created: '2024-01-01T00:00:00Z', createdBy: 'ADD rootfs.tar /', comment: '', emptyLayer: false },
        { created: '2024-01-01T00:00:01Z', createdBy: 'ENV PATH=/bin', comment: '', emptyLayer: true },
        { created: '2024-01-01T00:00:02Z', createdBy: 'COPY app /app', comment: 'the app', emptyLayer: false },
        { created: '2024-01-01T00:00:03Z', createdBy: 'CMD ["sh"]', comment: '', emptyLayer: true },
      ],
    },
    ...more,
  } as ImageDetails;
}

describe('image shapes', () => {
  it('names images as docker images does: tags familiar, digests per repository, the ID the config digest', () => {
    const d = details();
    assert.deepEqual(repoTags(d.refs), ['busybox:latest', 'busybox:1.36', 'localhost:5000/team/app:1']);
    assert.deepEqual(repoDigests(d), [`busybox@sha256:${hex('2')}`, `localhost:5000/team/app@sha256:${hex('2')}`]);
    const s = imageSummary(d, { maintainer: 'me' });
    assert.deepEqual(
      { Id: s.Id, Created: s.Created, Size: s.Size, Containers: s.Containers, Labels: s.Labels, ParentId: s.ParentId, SharedSize: s.SharedSize },
      { Id: `sha256:${hex('3')}`, Created: 1704164645, Size: 4_400_000, Containers: 1, Labels: { maintainer: 'me' }, ParentId: '', SharedSize: -1 },
    );
    const unbuilt = imageSummary(details({ disk: undefined, indexDigest: undefined, refs: [`docker.io/library/busybox@sha256:${hex('1')}`] }), {});
    assert.deepEqual([unbuilt.Size, unbuilt.RepoTags, unbuilt.RepoDigests], [2_000_000, [], [`busybox@sha256:${hex('1')}`]]);
  });

  it('inspects with Config, RootFS and the platform, maps empty as dockerd leaves them', () => {
    const i = imageInspect(details());
    assert.equal(i.Id, `sha256:${hex('3')}`);
    assert.deepEqual(i.Config.ExposedPorts, { '80/tcp': {} });
    assert.equal(i.Config.Volumes, null);
    assert.equal(i.Config.Entrypoint, null);
    assert.deepEqual(i.Config.Cmd, ['sh']);
    assert.deepEqual(i.RootFS, { Type: 'layers', Layers: [`sha256:${hex('d')}`, `sha256:${hex('e')}`] });
    assert.deepEqual([i.Os, i.Architecture, i.Created], ['linux', 'amd64', '2024-01-02T03:04:05Z']);
    assert.equal(i.ContainerConfig.Volumes, null, 'Compose 1.29 reads ContainerConfig.Volumes');
  });

  it('gives history newest first, each layer-making step its layer, the newest the ID and tags', () => {
    const h = imageHistory(details());
    assert.deepEqual(
      h.map((e) => [e.Id === `sha256:${hex('3')}` ? 'ID' : e.Id, e.CreatedBy, e.Size, e.Comment]),
      [
        ['ID', 'CMD ["sh"]', 0, ''],
        ['<missing>', 'COPY app /app', 500_000, 'the app'],
        ['<missing>', 'ENV PATH=/bin', 0, ''],
        ['<missing>', 'ADD rootfs.tar /', 1_500_000, ''],
      ],
    );
    assert.deepEqual(h[0]!.Tags, ['busybox:latest', 'busybox:1.36', 'localhost:5000/team/app:1']);
    const bare = imageHistory(details({ config: { ...details().config, history: [] } }));
    assert.deepEqual(bare.map((e) => [e.Id.startsWith('sha256:'), e.Size]), [[true, 500_000], [false, 1_500_000]], 'without history, one step per layer');
  });
});

describe('docker pull progress', () => {
  const resolved = { type: 'resolved' as const, ref: 'docker.io/library/busybox:latest', manifestDigest: `sha256:${hex('1')}`, layers: [{ digest: LAYER_A, size: 1000 }, { digest: LAYER_B, size: 2000 }] };

  it('says what dockerd says: Pulling from, fs layers, Already exists, Downloading with detail, Pull complete, Digest, Status', () => {
    const t = new PullTranslator('busybox', undefined);
    const lines = [
      ...t.lines({ type: 'resolving', ref: 'docker.io/library/busybox:latest' }),
      ...t.lines(resolved),
      ...t.lines({ type: 'layer', digest: LAYER_A, size: 1000, downloaded: 1000, status: 'cached' }),
      ...t.lines({ type: 'layer', digest: LAYER_B, size: 2000, downloaded: 500, status: 'downloading' }),
      ...t.lines({ type: 'layer', digest: LAYER_B, size: 2000, downloaded: 2000, status: 'verified' }),
      ...t.lines({ type: 'building', manifestDigest: resolved.manifestDigest }),
      ...t.lines({ type: 'ready', ref: resolved.ref, manifestDigest: resolved.manifestDigest, diskPath: '/d' }),
      ...t.finish(resolved.manifestDigest, `sha256:${hex('2')}`),
    ];
    const a = hex('a').slice(0, 12);
    const b = hex('b').slice(0, 12);
    assert.deepEqual(
      lines.map((l) => [l.id ?? '', l.status]),
      [
        ['latest', 'Pulling from library/busybox'],
        [a, 'Pulling fs layer'],
        [b, 'Pulling fs layer'],
        [a, 'Already exists'],
        [b, 'Downloading'],
        [b, 'Verifying Checksum'],
        [b, 'Download complete'],
        [b, 'Extracting'],
        [b, 'Pull complete'],
        ['', `Digest: sha256:${hex('2')}`],
        ['', 'Status: Downloaded newer image for busybox:latest'],
      ],
    );
    assert.deepEqual(lines.find((l) => l.status === 'Downloading')!.progressDetail, { current: 500, total: 2000 });
  });

  it('is up to date when nothing came down and the reference named that image before', () => {
    const t = new PullTranslator('localhost:5000/team/app:1', resolved.manifestDigest);
    const first = t.lines({ ...resolved, layers: [{ digest: LAYER_A, size: 1 }] });
    assert.deepEqual(first[0], { status: 'Pulling from team/app', id: '1' });
    t.lines({ type: 'layer', digest: LAYER_A, size: 1, downloaded: 1, status: 'cached' });
    assert.equal(t.finish(resolved.manifestDigest, resolved.manifestDigest).at(-1)!.status, 'Status: Image is up to date for localhost:5000/team/app:1');
    const moved = new PullTranslator('localhost:5000/team/app:1', `sha256:${hex('9')}`);
    moved.lines(resolved);
    assert.equal(moved.finish(resolved.manifestDigest, resolved.manifestDigest).at(-1)!.status, 'Status: Downloaded newer image for localhost:5000/team/app:1');
  });

  it('draws the bar and sizes as Docker does', () => {
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1_234_567), '1.235MB');
    assert.equal(humanSize(2_000_000_000), '2GB');
    assert.equal(progressBar(1, 2), `[${'='.repeat(25)}>${' '.repeat(24)}]       1B/2B`);
    assert.equal(progressBar(2, 2), `[${'='.repeat(50)}]       2B/2B`);
  });
});
