/** An image pull with its progress (POST /v1/images/pull as NDJSON: resolving, each layer's bytes, building, done). */
import { ApiError, streamLines } from '../api';
import { bytes } from './format';

export interface PullState {
  image: string;
  step: string;
  layers: Record<string, { done: number; total: number }>;
}

type Line =
  | { status: 'resolving' | 'done'; image: string }
  | { status: 'resolved'; layers: Array<{ digest: string; size: number }> }
  | { status: 'layer'; digest: string; done: number; total: number }
  | { status: 'building' }
  | { status: 'error'; error: { code: string; message: string; field?: string } };

/** Pulls `image`, reporting each step to `show`; answers the API's error, if the pull failed. */
export async function pullImage(image: string, show: (s: PullState) => void): Promise<ApiError | undefined> {
  let state: PullState = { image, step: 'resolving', layers: {} };
  let failed: ApiError | undefined;
  show(state);
  await streamLines<Line>(
    'POST',
    '/v1/images/pull',
    (l) => {
      if (l.status === 'error') {
        failed = new ApiError(400, l.error.code, l.error.message, l.error.field ?? 'body/image');
        state = { ...state, step: 'error' };
      } else if (l.status === 'resolved') {
        state = { ...state, step: 'downloading', layers: Object.fromEntries(l.layers.map((x) => [x.digest, { done: 0, total: x.size }])) };
      } else if (l.status === 'layer') {
        state = { ...state, layers: { ...state.layers, [l.digest]: { done: l.done, total: l.total } } };
      } else {
        state = { ...state, step: l.status };
      }
      show(state);
    },
    new AbortController().signal,
    { image },
  );
  return failed;
}

export function PullProgress({ state }: { state: PullState }) {
  const layers = Object.values(state.layers);
  const done = layers.reduce((n, l) => n + l.done, 0);
  const total = layers.reduce((n, l) => n + l.total, 0);
  return (
    <div class="pull" role="status" aria-live="polite">
      <span>
        {state.image}: {state.step}
        {total > 0 && ` — ${bytes(done)} of ${bytes(total)}, ${layers.length} layer${layers.length === 1 ? '' : 's'}`}
      </span>
      <progress max={Math.max(total, 1)} value={state.step === 'done' ? Math.max(total, 1) : done} aria-label={`pull of ${state.image}`} />
    </div>
  );
}
