/**
 * Images as Docker shows them (`GET /images/json`, `/images/{name}/json`, `/images/{name}/history`), from
 * the image library's records. Docker's image ID is the digest of the image's config (what `docker images`
 * shows 12 digits of); Hearth keys an image by its manifest digest, which Docker shows in `RepoDigests`.
 * A reference is shown in Docker's familiar form (`busybox:latest`, `localhost:5000/app:1`).
 * @module
 */
import type { ImageDetails, ImageSummary } from '../../../containers/deps.ts';
import { familiarReference, parseReference } from '../../../images/reference.ts';

/** The image's `RepoTags`: every reference holding a tag, familiar. */
export function repoTags(refs: readonly string[]): string[] {
  return refs
    .map((r) => parseReference(r))
    .filter((r) => r.tag !== undefined && r.digest === undefined)
    .map((r) => familiarReference(r));
}

/**
 * `RepoDigests`: each repository naming the image, with the digest it is pulled by (the index's for a
 * multi-platform image, as Docker keeps it).
 */
export function repoDigests(i: Pick<ImageSummary, 'refs' | 'manifestDigest' | 'indexDigest'>): string[] {
  const digest = i.indexDigest ?? i.manifestDigest;
  const repos = new Set(i.refs.map((r) => familiarReference({ ...parseReference(r), tag: undefined, digest: undefined })));
  return [...repos].sort().map((repo) => `${repo}@${digest}`);
}

/** Seconds since the epoch, 0 when unknown. */
const unixSeconds = (iso: string | undefined) => (iso && Number.isFinite(Date.parse(iso)) ? Math.floor(Date.parse(iso) / 1000) : 0);

/** What the image takes unpacked: its disk once built, its layers as downloaded before. */
const imageSize = (i: ImageSummary) => i.disk?.bytes ?? i.size;

export interface DockerImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export function imageSummary(i: ImageSummary, labels: Record<string, string>): DockerImageSummary {
  return {
    Id: i.configDigest,
    ParentId: '',
    RepoTags: repoTags(i.refs),
    RepoDigests: repoDigests(i),
    Created: unixSeconds(i.created),
    Size: imageSize(i),
    SharedSize: -1,
    // API versions before 1.44 (Compose 1.29, docker-py) read it
    VirtualSize: imageSize(i),
    Labels: labels,
    Containers: i.users.length,
  };
}

/** Docker's `{"80/tcp": {}}` maps from a list of keys; null when empty, as dockerd leaves them. */
const keyMap = (keys: readonly string[]) => (keys.length === 0 ? null : Object.fromEntries(keys.map((k) => [k, {}])));
const orNull = <T>(a: readonly T[]) => (a.length === 0 ? null : [...a]);

export function imageInspect(d: ImageDetails) {
  const c = d.config;
  const config = {
    Hostname: '',
    Domainname: '',
    User: c.user,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: keyMap(c.exposedPorts),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: orNull(c.env),
    Cmd: orNull(c.cmd),
    Healthcheck: c.healthcheck
      ? {
          Test: c.healthcheck.test,
          Interval: c.healthcheck.intervalNs,
          Timeout: c.healthcheck.timeoutNs,
          StartPeriod: c.healthcheck.startPeriodNs,
          StartInterval: c.healthcheck.startIntervalNs,
          Retries: c.healthcheck.retries,
        }
      : undefined,
    Image: '',
    Volumes: keyMap(c.volumes),
    WorkingDir: c.workingDir,
    Entrypoint: orNull(c.entrypoint),
    OnBuild: null,
    Labels: Object.keys(c.labels).length === 0 ? null : c.labels,
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    ...(c.shell.length > 0 ? { Shell: c.shell } : {}),
  };
  return {
    Id: d.configDigest,
    RepoTags: repoTags(d.refs),
    RepoDigests: repoDigests(d),
    Parent: '',
    Comment: '',
    Created: d.created ?? '0001-01-01T00:00:00Z',
    DockerVersion: '',
    Author: '',
    Config: config,
    // API versions before 1.45 have it; Compose 1.29 reads its Volumes when it recreates a container
    ContainerConfig: { ...config, Hostname: '', Cmd: null, Entrypoint: null },
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: imageSize(d),
    VirtualSize: imageSize(d),
    GraphDriver: { Name: d.disk ? `hearth-${d.disk.fsType}` : 'hearth', Data: null },
    RootFS: { Type: 'layers', Layers: c.diffIds },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/**
 * `docker history`: the config's history (or one step per layer when it has none), newest first, each
 * entry that made a layer paired with that layer's size (as downloaded: Hearth does not keep layers unpacked). Only the newest entry has an ID, as
 * for a pulled image on dockerd (`<missing>` for the others).
 */
export function imageHistory(d: ImageDetails) {
  const layers = [...d.layers];
  // a config without history (some tools write none): one step per layer, so each layer is shown
  const steps = d.config.history.length > 0 ? d.config.history : d.layers.map(() => ({ created: d.created, createdBy: '', comment: '', emptyLayer: false }));
  const entries = steps.map((h) => ({
    Id: '<missing>',
    Created: unixSeconds(h.created),
    CreatedBy: h.createdBy,
    Tags: null as string[] | null,
    Size: h.emptyLayer ? 0 : (layers.shift()?.size ?? 0),
    Comment: h.comment,
  }));
  const newest = entries.reverse();
  if (newest[0]) {
    newest[0].Id = d.configDigest;
    newest[0].Tags = repoTags(d.refs);
  }
  return newest;
}
