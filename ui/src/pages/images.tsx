/** Images: the list (updated from image events), pull with progress, delete (asks; force if a container uses it), prune. */
import { useEffect, useState } from 'preact/hooks';
import { call, enc } from '../api';
import { useEvents } from '../live';
import { useConfirm } from '../parts/confirm';
import { bytes, time } from '../parts/format';
import { PullProgress, pullImage, type PullState } from '../parts/pull';

interface Image {
  digest: string;
  references: string[];
  platform: string;
  pulled_at: string | null;
  size: number;
  size_on_disk: number;
  containers: Array<{ id: string; name: string }>;
}

export function ImagesPage() {
  const [images, setImages] = useState<Image[] | undefined>();
  const [ref, setRef] = useState('');
  const [pull, setPull] = useState<PullState | undefined>();
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const { ask, dialog } = useConfirm();
  const load = () => call<{ items: Image[] }>('GET', '/v1/images').then((r) => setImages(r.items), (e) => setError(e.message));
  useEffect(() => void load(), []);
  useEvents((e) => {
    if (e.type.startsWith('image-') || e.type === 'deleted') void load();
  });

  const doPull = async (ev: Event) => {
    ev.preventDefault();
    setError('');
    const failed = await pullImage(ref.trim(), setPull).catch((e: Error) => e);
    if (failed) setError(failed.message);
    void load();
  };
  const remove = async (img: Image) => {
    const used = img.containers.length > 0;
    const what = names(img)[0] ?? img.digest;
    if (!(await ask(`Delete ${what}?${used ? ` It is used by ${img.containers.map((c) => c.name).join(', ')}: they keep running, and pull it again when they start.` : ''}`))) return;
    try {
      const r = await call<{ freed_bytes: number }>('DELETE', `/v1/images/${enc(what)}${used ? '?force=true' : ''}`);
      setMessage(`Deleted ${what}: ${bytes(r.freed_bytes)} freed.`);
    } catch (e) {
      setError((e as Error).message);
    }
    void load();
  };
  const prune = async () => {
    if (!(await ask('Delete every image no container uses?'))) return;
    try {
      const r = await call<{ removed: unknown[]; freed_bytes: number }>('POST', '/v1/images/prune');
      setMessage(`Pruned ${r.removed.length} image(s): ${bytes(r.freed_bytes)} freed.`);
    } catch (e) {
      setError((e as Error).message);
    }
    void load();
  };

  return (
    <section>
      <header class="page-head">
        <h1>Images</h1>
        <button type="button" onClick={prune}>Prune unused</button>
      </header>
      <form class="filters" onSubmit={doPull} aria-label="Pull an image">
        <label>
          <span class="label">Image to pull</span>
          <input name="pull-ref" value={ref} onInput={(e) => setRef(e.currentTarget.value)} placeholder="nginx:alpine" />
        </label>
        <button type="submit" class="primary">Pull</button>
      </form>
      {pull && <PullProgress state={pull} />}
      {message && <p role="status">{message}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {!images ? (
        <p>Loading…</p>
      ) : images.length === 0 ? (
        <p class="empty">No images.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr><th>References</th><th>Digest</th><th>Size</th><th>On disk</th><th>Pulled</th><th>Used by</th><th>Actions</th></tr>
            </thead>
            <tbody>
              {images.map((i) => (
                <tr key={i.digest}>
                  <td data-label="References">{names(i).join(', ') || '(none)'}</td>
                  <td data-label="Digest"><code>{i.digest.slice(7, 19)}</code></td>
                  <td data-label="Size" class="nowrap">{bytes(i.size)}</td>
                  <td data-label="On disk" class="nowrap">{bytes(i.size_on_disk)}</td>
                  <td data-label="Pulled">{i.pulled_at ? time(i.pulled_at) : '–'}</td>
                  <td data-label="Used by">{i.containers.map((c) => c.name).join(', ') || '–'}</td>
                  <td data-label="Actions">
                    <button type="button" class="danger" onClick={() => remove(i)} aria-label={`Delete ${names(i)[0] ?? i.digest}`}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {dialog}
    </section>
  );
}

/** The references to show: by tag (the digest has its column), else whatever names it. */
function names(i: Image): string[] {
  const tagged = i.references.filter((r) => !r.includes('@'));
  return tagged.length ? tagged : i.references;
}
