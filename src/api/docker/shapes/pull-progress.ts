/**
 * `docker pull`'s progress stream (`POST /images/create`) from Hearth's pull progress (images/progress.ts):
 * a translation with just enough memory to say what Docker says. The CLI draws one line per `id` and
 * redraws it as its `status` changes; it reads `progressDetail` for the bar.
 *
 *   {"status":"Pulling from library/busybox","id":"latest"}
 *   {"status":"Pulling fs layer","progressDetail":{},"id":"a1b2c3d4e5f6"}        each layer, once resolved
 *   {"status":"Already exists","progressDetail":{},"id":"..."}                    a layer that was here
 *   {"status":"Downloading","progressDetail":{"current":n,"total":t},"progress":"[==>  ] 1MB/4MB","id":"..."}
 *   {"status":"Download complete","progressDetail":{},"id":"..."}                 verified
 *   {"status":"Extracting","progressDetail":{},"id":"..."}                        Hearth builds one disk of
 *   {"status":"Pull complete","progressDetail":{},"id":"..."}                     all layers: each says so
 *   {"status":"Digest: sha256:..."}
 *   {"status":"Status: Downloaded newer image for busybox:latest"}   or `Image is up to date for ...`
 *
 * A failure is `{"errorDetail":{"message":m},"error":m}` (the CLI prints it and exits 1).
 * @module
 */
import type { PullProgress } from '../../../containers/deps.ts';
import { familiarReference, parseReference } from '../../../images/reference.ts';

export interface DockerProgressLine {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  errorDetail?: { message: string };
  error?: string;
}

/** The layer's short id, as Docker shows it: 12 hex digits of its digest. */
export const shortLayerId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** An error line, as the CLI expects one in the stream. */
export const errorLine = (message: string): DockerProgressLine => ({ errorDetail: { message }, error: message });

export class PullTranslator {
  private readonly downloaded = new Set<string>();
  private resolvedDigest: string | undefined;

  /**
   * `ref` as the client asked for it; `before`: the manifest digest the reference named here before the pull
   * (undefined if it named none), to say whether the image is newer.
   */
  constructor(
    private readonly ref: string,
    private readonly before: string | undefined,
  ) {}

  /** The lines one progress event becomes (none for what Docker does not show). */
  lines(p: PullProgress): DockerProgressLine[] {
    switch (p.type) {
      case 'resolving':
        return [];
      case 'resolved': {
        this.resolvedDigest = p.manifestDigest;
        const r = parseReference(this.ref);
        return [
          // the repository's path in its registry, as dockerd says it
          { status: `Pulling from ${r.repository}`, id: r.digest ?? r.tag ?? 'latest' },
          ...p.layers.map((l) => ({ status: 'Pulling fs layer', progressDetail: {}, id: shortLayerId(l.digest) })),
        ];
      }
      case 'layer': {
        const id = shortLayerId(p.digest);
        if (p.status === 'cached') return [{ status: 'Already exists', progressDetail: {}, id }];
        this.downloaded.add(p.digest);
        if (p.status === 'verified') return [{ status: 'Verifying Checksum', progressDetail: {}, id }, { status: 'Download complete', progressDetail: {}, id }];
        return [{ status: 'Downloading', progressDetail: { current: p.downloaded, total: p.size }, progress: progressBar(p.downloaded, p.size), id }];
      }
      case 'building':
        return [...this.downloaded].map((d) => ({ status: 'Extracting', progressDetail: {}, id: shortLayerId(d) }));
      case 'ready':
        return [];
    }
  }

  /** The closing lines, once the pull has ended with `manifestDigest`. */
  finish(manifestDigest: string, repoDigest: string): DockerProgressLine[] {
    const name = familiarReference(parseReference(this.ref));
    const newer = this.downloaded.size > 0 || this.before !== (this.resolvedDigest ?? manifestDigest);
    return [
      ...[...this.downloaded].map((d) => ({ status: 'Pull complete', progressDetail: {}, id: shortLayerId(d) })),
      { status: `Digest: ${repoDigest}` },
      { status: newer ? `Status: Downloaded newer image for ${name}` : `Status: Image is up to date for ${name}` },
    ];
  }
}

const BAR_WIDTH = 50;

/** Docker's `[=====>      ]  1.23MB/4.56MB`, for clients that print `progress` as it is. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const filled = Math.min(BAR_WIDTH, Math.floor((current * BAR_WIDTH) / total));
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : `${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled - 1)}`;
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Decimal units with three or four significant digits, as Docker's `units.HumanSize`. */
export function humanSize(bytes: number): string {
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < UNITS.length - 1) {
    n /= 1000;
    u++;
  }
  return `${Number(n.toPrecision(4))}${UNITS[u]}`;
}
