/**
 * Create: a form for every field of POST /v1/containers. The browser does not validate (the form is
 * `novalidate`): the API does, and its message shows next to the field it names. With "pull first" the image
 * is pulled with its progress shown, then the container is created and its page opened.
 */
import { useState } from 'preact/hooks';
import { ApiError, call } from '../api';
import { Field } from '../parts/field';
import { PullProgress, pullImage, type PullState } from '../parts/pull';
import { buildBody, controlOf, emptyForm, type Form, type PortRow, type VolumeRow } from './create-body';

export function CreatePage() {
  const [f, setF] = useState<Form>(emptyForm);
  const [error, setError] = useState<{ control: string; message: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const [pull, setPull] = useState<PullState | undefined>();
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((old) => ({ ...old, [k]: v }));
  const err = (control: string) =>
    error && (error.control === control || error.control.startsWith(control + '.')) ? error.message : undefined;
  const text = (k: keyof Form, label: string, extra: Record<string, unknown> = {}, hint?: string) => (
    <Field label={label} error={err(controlKey(k))} {...(hint ? { hint } : {})}>
      <input name={k} value={f[k] as string} onInput={(e) => set(k, e.currentTarget.value as never)} {...extra} />
    </Field>
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    const built = buildBody(f);
    try {
      if (f.pull && f.image.trim()) {
        const failed = await pullImage(f.image.trim(), setPull);
        if (failed) throw failed;
      }
      const { id } = await call<{ id: string }>('POST', '/v1/containers', built.body);
      location.hash = `#/containers/${id}`;
    } catch (e) {
      const control = e instanceof ApiError ? controlOf(e.field, built) : '';
      setError({ control: control || 'form', message: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const setPort = (i: number, p: Partial<PortRow>) => set('ports', f.ports.map((r, j) => (j === i ? { ...r, ...p } : r)));
  const setVolume = (i: number, v: Partial<VolumeRow>) => set('volumes', f.volumes.map((r, j) => (j === i ? { ...r, ...v } : r)));

  return (
    <section>
      <h1>New container</h1>
      <form class="create" noValidate onSubmit={submit} aria-label="New container">
        {error && (
          <p class="error banner" role="alert">
            Not created: {error.message}
          </p>
        )}
        <fieldset>
          <legend>Image and command</legend>
          {text('image', 'Image', { required: true, placeholder: 'nginx:latest', autocomplete: 'off' })}
          <label class="check">
            <input type="checkbox" name="pull" checked={f.pull} onChange={(e) => set('pull', e.currentTarget.checked)} /> Pull the image first (shows progress)
          </label>
          {pull && <PullProgress state={pull} />}
          {text('name', 'Name', { required: true, autocomplete: 'off' })}
          <Field label="Arguments (one per line; replace the image's command)" error={err('args')}>
            <textarea name="args" rows={2} value={f.args} onInput={(e) => set('args', e.currentTarget.value)} />
          </Field>
          <Field label="Environment (NAME=value, one per line)" error={err('env_vars')}>
            <textarea name="env" rows={3} value={f.env} onInput={(e) => set('env', e.currentTarget.value)} />
          </Field>
        </fieldset>

        <fieldset>
          <legend>Ports</legend>
          {f.ports.map((p, i) => (
            <div class={err(`port_mappings.${i}`) ? 'rowset invalid' : 'rowset'} data-row={i}>
              <Field label={`Host port ${i + 1}`} error={err(`port_mappings.${i}.host_port`)}>
                <input name={`host_port_${i}`} inputMode="numeric" value={p.host_port} onInput={(e) => setPort(i, { host_port: e.currentTarget.value })} />
              </Field>
              <Field label={`Container port ${i + 1}`} error={err(`port_mappings.${i}.container_port`)}>
                <input name={`container_port_${i}`} inputMode="numeric" value={p.container_port} onInput={(e) => setPort(i, { container_port: e.currentTarget.value })} />
              </Field>
              <Field label="Protocol">
                <select value={p.protocol} onChange={(e) => setPort(i, { protocol: e.currentTarget.value as 'tcp' | 'udp' })}>
                  <option>tcp</option>
                  <option>udp</option>
                </select>
              </Field>
              <Field label="Host address" error={err(`port_mappings.${i}.host_ip`)}>
                <input name={`host_ip_${i}`} placeholder="default" value={p.host_ip} onInput={(e) => setPort(i, { host_ip: e.currentTarget.value })} />
              </Field>
              <button type="button" aria-label={`Remove port ${i + 1}`} onClick={() => set('ports', f.ports.filter((_, j) => j !== i))}>Remove</button>
              {err(`port_mappings.${i}`) && !/port_mappings\.\d+\./.test(error!.control) && <span class="error" role="alert">{err(`port_mappings.${i}`)}</span>}
            </div>
          ))}
          <button type="button" onClick={() => set('ports', [...f.ports, { host_port: '', container_port: '', protocol: 'tcp', host_ip: '' }])}>Add a port</button>
          {err('port_mappings') && error!.control === 'port_mappings' && <span class="error" role="alert">{error!.message}</span>}
        </fieldset>

        <fieldset>
          <legend>Volumes</legend>
          {f.volumes.map((v, i) => (
            <div class="rowset" data-row={i}>
              <Field label={`Source ${i + 1}`} hint="a volume name, a host path, or empty (anonymous)" error={err(`volumes.${i}.name`) ?? err(`volumes.${i}.host_path`) ?? (error?.control === `volumes.${i}` ? error.message : undefined)}>
                <input name={`volume_source_${i}`} value={v.source} onInput={(e) => setVolume(i, { source: e.currentTarget.value })} />
              </Field>
              <Field label={`Container path ${i + 1}`} error={err(`volumes.${i}.container_path`)}>
                <input name={`volume_path_${i}`} value={v.container_path} onInput={(e) => setVolume(i, { container_path: e.currentTarget.value })} />
              </Field>
              <label class="check">
                <input type="checkbox" checked={v.readonly} onChange={(e) => setVolume(i, { readonly: e.currentTarget.checked })} /> read-only
              </label>
              <button type="button" aria-label={`Remove volume ${i + 1}`} onClick={() => set('volumes', f.volumes.filter((_, j) => j !== i))}>Remove</button>
            </div>
          ))}
          <button type="button" onClick={() => set('volumes', [...f.volumes, { source: '', container_path: '', readonly: false }])}>Add a volume</button>
        </fieldset>

        <fieldset>
          <legend>Restart and limits</legend>
          <Field label="Restart policy" error={err('restart_policy')}>
            <select name="restart_policy" value={f.restart_policy} onChange={(e) => set('restart_policy', e.currentTarget.value)}>
              <option value="no">no</option>
              <option value="on-failure">on-failure</option>
              <option value="always">always</option>
            </select>
          </Field>
          {text('restart_max_retries', 'Max retries (on-failure)', { inputMode: 'numeric' })}
          {text('cpus', 'CPUs', { inputMode: 'decimal', placeholder: 'manager default' })}
          {text('memory_mib', 'Memory (MiB)', { inputMode: 'numeric', placeholder: 'manager default' })}
        </fieldset>

        <fieldset>
          <legend>Health check</legend>
          {text('health_cmd', 'Command (run by the shell; empty: the image\'s)')}
          {text('health_interval', 'Interval (s)', { inputMode: 'decimal' })}
          {text('health_timeout', 'Timeout (s)', { inputMode: 'decimal' })}
          {text('health_retries', 'Retries', { inputMode: 'numeric' })}
          {text('health_start_period', 'Start period (s)', { inputMode: 'decimal' })}
          <label class="check">
            <input type="checkbox" name="health_none" checked={f.health_none} onChange={(e) => set('health_none', e.currentTarget.checked)} /> No health check (not even the image's)
          </label>
        </fieldset>

        <fieldset>
          <legend>Network and terminal</legend>
          {text('hostname', 'Hostname')}
          {text('dns', 'DNS servers (comma-separated)')}
          <Field label="Extra hosts (name:address, one per line)" error={err('extra_hosts')}>
            <textarea name="extra_hosts" rows={2} value={f.extra_hosts} onInput={(e) => set('extra_hosts', e.currentTarget.value)} />
          </Field>
          <label class="check">
            <input type="checkbox" name="tty" checked={f.tty} onChange={(e) => set('tty', e.currentTarget.checked)} /> TTY
          </label>
          <label class="check">
            <input type="checkbox" name="stdin_open" checked={f.stdin_open} onChange={(e) => set('stdin_open', e.currentTarget.checked)} /> Keep stdin open
          </label>
        </fieldset>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
      </form>
    </section>
  );
}

/** The error control a plain form field answers to (the health check's live under `healthcheck`). */
function controlKey(k: keyof Form): string {
  const health: Partial<Record<keyof Form, string>> = {
    health_cmd: 'healthcheck.test',
    health_interval: 'healthcheck.interval_s',
    health_timeout: 'healthcheck.timeout_s',
    health_retries: 'healthcheck.retries',
    health_start_period: 'healthcheck.start_period_s',
  };
  return health[k] ?? k;
}
