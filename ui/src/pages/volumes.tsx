/**
 * Volumes: the list (read again on volume events, and when a container goes: its anonymous volumes go with it),
 * create (name, size; the API's error next to the field), delete (asks: the data goes).
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, enc } from '../api';
import { useEvents } from '../live';
import { useConfirm } from '../parts/confirm';
import { Field } from '../parts/field';
import { bytes } from '../parts/format';

interface Volume {
  name: string;
  anonymous: boolean;
  size_bytes: number;
  used_bytes: number;
  disk_bytes: number;
  containers: Array<{ id: string; name: string; container_path: string }>;
}

export function VolumesPage() {
  const [volumes, setVolumes] = useState<Volume[] | undefined>();
  const [name, setName] = useState('');
  const [size, setSize] = useState('');
  const [error, setError] = useState<ApiError | Error | undefined>();
  const { ask, dialog } = useConfirm();
  const load = () => call<{ items: Volume[] }>('GET', '/v1/volumes').then((r) => setVolumes(r.items), setError);
  useEffect(() => void load(), []);
  useEvents((e) => {
    if (e.type.startsWith('volume-') || e.type === 'deleted') void load();
  });

  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await call('POST', '/v1/volumes', { name: name.trim(), ...(size.trim() ? { size_mib: Number(size) } : {}) });
      setName('');
      setSize('');
    } catch (err) {
      setError(err as Error);
    }
    void load();
  };
  const remove = async (v: Volume) => {
    if (!(await ask(`Delete volume ${v.name}? Its data is lost.`))) return;
    try {
      await call('DELETE', `/v1/volumes/${enc(v.name)}`);
    } catch (err) {
      setError(err as Error);
    }
    void load();
  };
  const fieldError = (f: string) => (error instanceof ApiError && error.field === `body/${f}` ? error.message : undefined);

  return (
    <section>
      <h1>Volumes</h1>
      <form class="filters" noValidate onSubmit={create} aria-label="Create a volume">
        <Field label="Name" error={fieldError('name')}>
          <input name="volume-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Size (MiB)" error={fieldError('size_mib')}>
          <input name="volume-size" inputMode="numeric" placeholder="default" value={size} onInput={(e) => setSize(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">Create</button>
      </form>
      {error && !(error instanceof ApiError && (fieldError('name') || fieldError('size_mib'))) && <p class="error" role="alert">{error.message}</p>}
      {!volumes ? (
        <p>Loading…</p>
      ) : volumes.length === 0 ? (
        <p class="empty">No volumes.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr><th>Name</th><th>Size</th><th>Used</th><th>On disk</th><th>Mounted by</th><th>Actions</th></tr>
            </thead>
            <tbody>
              {volumes.map((v) => (
                <tr key={v.name}>
                  <td data-label="Name">{v.name}{v.anonymous && <span class="hint"> (anonymous)</span>}</td>
                  <td data-label="Size">{bytes(v.size_bytes)}</td>
                  <td data-label="Used">{bytes(v.used_bytes)}</td>
                  <td data-label="On disk">{bytes(v.disk_bytes)}</td>
                  <td data-label="Mounted by">{v.containers.map((c) => `${c.name}:${c.container_path}`).join(', ') || '–'}</td>
                  <td data-label="Actions">
                    <button type="button" class="danger" onClick={() => remove(v)} aria-label={`Delete volume ${v.name}`}>Delete</button>
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
