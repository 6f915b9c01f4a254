/**
 * What a pull reports as it goes, and the sampling that makes it fit for people: the puller samples what it
 * emits, so the API's progress stream and a container's events show the same sequence.
 *
 * In order: `resolving` (asking the registry; absent when the image is already here), `resolved` (the
 * manifest and its layers), `layer` for each layer (`cached`, or `downloading` as bytes arrive then
 * `verified`; layers download a few at a time, so their events interleave), `building` (the disk, only
 * when it is not built yet), `ready`.
 * @module
 */

export type PullProgress =
  | { type: 'resolving'; ref: string }
  | { type: 'resolved'; ref: string; manifestDigest: string; layers: { digest: string; size: number }[] }
  | { type: 'layer'; digest: string; size: number; downloaded: number; status: 'cached' | 'downloading' | 'verified' }
  | { type: 'building'; manifestDigest: string }
  | { type: 'ready'; ref: string; manifestDigest: string; diskPath: string };

/** A `downloading` event is let through each time a layer has come this much further (a tenth). */
const STEPS = 10;

/**
 * Passes every event but `downloading` ones, of which it passes each layer's first and then one per tenth
 * of its size: a registry client reports every chunk, thousands for a large layer.
 */
export function sampled(onProgress: (p: PullProgress) => void): (p: PullProgress) => void {
  const nextStep = new Map<string, number>();
  return (p) => {
    if (p.type === 'layer' && p.status === 'downloading') {
      const step = p.size > 0 ? Math.floor((p.downloaded * STEPS) / p.size) : STEPS;
      const next = nextStep.get(p.digest);
      if (next !== undefined && step < next) return;
      nextStep.set(p.digest, step + 1);
    }
    onProgress(p);
  };
}
