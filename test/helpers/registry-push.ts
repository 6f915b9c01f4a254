/**
 * Generates test images (tar layers compressed with gzip, zstd or nothing; Docker or OCI manifests; indexes)
 * and pushes them with the distribution API, handling Basic and Bearer auth. Nothing is downloaded.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { basicHeader, parseChallenge, type Credentials } from '../../src/images/auth.ts';
import { zstdCompressFile } from '../../src/tools/zstd.ts';
import { makeTar, type TarSpec } from './tar-writer.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  entries: TarSpec[];
  compression?: Compression;
  endMarker?: boolean;
}

export interface PushedImage {
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  layers: { digest: string; size: number; diffId: string }[];
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function compress(tar: Buffer, c: Compression): Promise<Buffer> {
  if (c === 'gzip') return gzipSync(tar, { level: 1 });
  if (c === 'none') return tar;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-zstd-'));
  try {
    fs.writeFileSync(path.join(dir, 'in'), tar);
    await zstdCompressFile(path.join(dir, 'in'), path.join(dir, 'out'));
    return fs.readFileSync(path.join(dir, 'out'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const LAYER_TYPE = {
  oci: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
  docker: { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
};

export class Pusher {
  private auth: string | undefined;
  constructor(
    readonly base: string,
    readonly user?: Credentials,
  ) {}

  async req(method: string, url: string, repo: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
    const full = url.startsWith('http') ? url : `${this.base}${url}`;
    const go = (): Promise<Response> =>
      fetch(full, { method, headers: { ...headers, ...(this.auth ? { Authorization: this.auth } : {}) }, ...(body ? { body: new Uint8Array(body) } : {}) });
    let res = await go();
    if (res.status === 401) {
      await res.body?.cancel();
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      if (ch?.scheme === 'basic' && this.user) this.auth = basicHeader(this.user);
      else if (ch?.scheme === 'bearer') {
        const u = new URL(ch.params.realm!);
        u.searchParams.set('service', ch.params.service ?? '');
        u.searchParams.set('scope', `repository:${repo}:pull,push`);
        const t = await fetch(u, { headers: this.user ? { Authorization: basicHeader(this.user) } : {} });
        const doc = (await t.json()) as { token: string };
        this.auth = `Bearer ${doc.token}`;
      }
      res = await go();
    }
    return res;
  }

  async blob(repo: string, bytes: Buffer): Promise<string> {
    const digest = sha256(bytes);
    const head = await this.req('HEAD', `/v2/${repo}/blobs/${digest}`, repo);
    await head.body?.cancel();
    if (head.ok) return digest;
    const start = await this.req('POST', `/v2/${repo}/blobs/uploads/`, repo);
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
    const loc = new URL(start.headers.get('location')!, this.base);
    loc.searchParams.set('digest', digest);
    const put = await this.req('PUT', loc.toString(), repo, bytes, { 'content-type': 'application/octet-stream' });
    if (put.status !== 201) throw new Error(`blob put: ${put.status} ${await put.text()}`);
    await put.body?.cancel();
    return digest;
  }

  async manifest(repo: string, ref: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await this.req('PUT', `/v2/${repo}/manifests/${ref}`, repo, body, { 'content-type': mediaType });
    if (res.status !== 201) throw new Error(`manifest put ${repo}:${ref}: ${res.status} ${await res.text()}`);
    return sha256(body);
  }
}

export interface ImageOptions {
  style?: 'oci' | 'docker';
  architecture?: string;
  config?: Record<string, unknown>;
  /** Override the config media type (to make an unsupported artifact). */
  configMediaType?: string;
  /** More top-level fields for the config (to make an oversized one). */
  configExtra?: Record<string, unknown>;
}

/** Build and push an image; `tag` may be undefined to push by digest only. */
export async function pushImage(p: Pusher, repo: string, tag: string | undefined, layers: LayerSpec[], o: ImageOptions = {}): Promise<PushedImage> {
  const style = o.style ?? 'oci';
  const descs: { mediaType: string; digest: string; size: number }[] = [];
  const out: PushedImage['layers'] = [];
  for (const l of layers) {
    const tar = makeTar(l.entries, l.endMarker === false ? { endMarker: false } : {});
    const c = l.compression ?? 'gzip';
    const blob = await compress(tar, c);
    const digest = await p.blob(repo, blob);
    descs.push({ mediaType: LAYER_TYPE[style][c], digest, size: blob.length });
    out.push({ digest, size: blob.length, diffId: sha256(tar) });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-02T03:04:05Z',
      architecture: o.architecture ?? 'amd64',
      os: 'linux',
      config: o.config ?? { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: out.map((l) => l.diffId) },
      ...o.configExtra,
    }),
  );
  const configDigest = await p.blob(repo, config);
  const mediaType = style === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const configType = o.configMediaType ?? (style === 'oci' ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json');
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: { mediaType: configType, digest: configDigest, size: config.length }, layers: descs }),
  );
  const manifestDigest = await p.manifest(repo, tag ?? sha256(manifest), mediaType, manifest);
  return { manifestDigest, manifestSize: manifest.length, configDigest, layers: out };
}

export async function pushIndex(
  p: Pusher,
  repo: string,
  tag: string,
  entries: { digest: string; size: number; architecture: string }[],
  style: 'oci' | 'docker' = 'oci',
): Promise<string> {
  const mediaType = style === 'oci' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json';
  const childType = style === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map((e) => ({ mediaType: childType, digest: e.digest, size: e.size, platform: { os: 'linux', architecture: e.architecture } })),
    }),
  );
  return p.manifest(repo, tag, mediaType, body);
}
