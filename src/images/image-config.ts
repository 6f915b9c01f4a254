/**
 * The runtime part of an image's config blob, as a plain typed object the sandbox layer consumes.
 * Field meanings follow the OCI image spec (`config` section) and Docker's image JSON.
 * @module
 */
import { HearthError } from '../errors.ts';

export interface Healthcheck {
  /** `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`. */
  test: string[];
  /** Nanoseconds, as Docker stores them; 0 means the default. */
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs: number;
  retries: number;
}

/** One step of how the image was made (the config's `history`); `emptyLayer` steps made no layer. */
export interface HistoryEntry {
  created?: string;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
}

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  /** `KEY=value` strings in image order. */
  env: string[];
  /** Empty means `/`. */
  workingDir: string;
  /** `name`, `uid`, `name:group` or `uid:gid`; empty means root. */
  user: string;
  /** `80/tcp`, `53/udp`. */
  exposedPorts: string[];
  volumes: string[];
  /** e.g. `SIGQUIT`; empty means SIGTERM. */
  stopSignal: string;
  healthcheck?: Healthcheck;
  /** The image's `SHELL` (what a `CMD-SHELL` health check runs under); empty means `/bin/sh -c`. */
  shell: string[];
  labels: Record<string, string>;
  /** From the config's top level. */
  os: string;
  architecture: string;
  variant?: string;
  created?: string;
  /** Uncompressed layer digests, in order (config `rootfs.diff_ids`). */
  diffIds: string[];
  /** Oldest first; empty when the config has none. */
  history: HistoryEntry[];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function keys(v: unknown): string[] {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).sort() : [];
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown) => (typeof v === 'string' ? v : '');

function historyEntry(h: Record<string, unknown>): HistoryEntry {
  return {
    ...(typeof h.created === 'string' ? { created: h.created } : {}),
    createdBy: text(h.created_by),
    comment: text(h.comment),
    emptyLayer: h.empty_layer === true,
  };
}

/** Parse an image config blob (Docker `application/vnd.docker.container.image.v1+json` or OCI config). */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (doc === null || typeof doc !== 'object') throw new Error('not an object');
  } catch (e) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_IMAGE_MANIFEST_INVALID', `image config is not valid JSON: ${(e as Error).message}`);
  }
  const c = (doc.config ?? {}) as Record<string, unknown>;
  const rootfs = (doc.rootfs ?? {}) as Record<string, unknown>;
  const hc = c.Healthcheck as Record<string, unknown> | undefined;
  const labels: Record<string, string> = {};
  if (c.Labels !== null && typeof c.Labels === 'object') {
    for (const [k, v] of Object.entries(c.Labels as object)) if (typeof v === 'string') labels[k] = v;
  }
  return {
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    user: typeof c.User === 'string' ? c.User : '',
    exposedPorts: keys(c.ExposedPorts),
    volumes: keys(c.Volumes),
    stopSignal: typeof c.StopSignal === 'string' ? c.StopSignal : '',
    shell: strings(c.Shell),
    ...(hc && Array.isArray(hc.Test)
      ? {
          healthcheck: {
            test: strings(hc.Test),
            intervalNs: num(hc.Interval),
            timeoutNs: num(hc.Timeout),
            startPeriodNs: num(hc.StartPeriod),
            startIntervalNs: num(hc.StartInterval),
            retries: num(hc.Retries),
          },
        }
      : {}),
    labels,
    os: typeof doc.os === 'string' ? doc.os : '',
    architecture: typeof doc.architecture === 'string' ? doc.architecture : '',
    ...(typeof doc.variant === 'string' ? { variant: doc.variant } : {}),
    ...(typeof doc.created === 'string' ? { created: doc.created } : {}),
    diffIds: strings(rootfs.diff_ids),
    history: Array.isArray(doc.history) ? doc.history.filter(isObject).map(historyEntry) : [],
  };
}
