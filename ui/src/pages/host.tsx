/** Host: the manager's version, the accelerator asked for and in use, VMs, containers by state, capacity (GET /v1/host). */
import { useEffect, useState } from 'preact/hooks';
import { call } from '../api';
import { useEvents } from '../live';

interface Host {
  version: string;
  node: string;
  hostname: string;
  kernel: string;
  arch: string;
  vmm: string;
  accel: { configured: string; in_use: string[] };
  vms: number;
  containers: Record<string, number>;
  capacity: { cpus: number; memory_mib: number; allocated_cpus: number; allocated_memory_mib: number };
}

export function HostPage() {
  const [host, setHost] = useState<Host | undefined>();
  const [error, setError] = useState('');
  const load = () => call<{ item: Host }>('GET', '/v1/host').then((r) => setHost(r.item), (e) => setError(e.message));
  useEffect(() => void load(), []);
  useEvents((e) => {
    if (e.type === 'state' || e.type === 'deleted') void load();
  });
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!host) return <p>Loading…</p>;
  const cap = host.capacity;
  const rows: Array<[string, string]> = [
    ['Version', `Hearth ${host.version} (Node ${host.node})`],
    ['Host', `${host.hostname}, ${host.arch}, Linux ${host.kernel}`],
    ['VMM', host.vmm],
    ['Accelerator', `${host.accel.configured} configured; in use: ${host.accel.in_use.join(', ') || 'no VM running'}`],
    ['VMs', String(host.vms)],
    ['Containers', Object.entries(host.containers).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'],
    ['CPUs', `${cap.allocated_cpus} of ${cap.cpus} given to containers`],
    ['Memory', `${cap.allocated_memory_mib} MiB of ${cap.memory_mib} MiB given to VMs`],
  ];
  return (
    <section>
      <h1>Host</h1>
      <dl class="facts">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd data-fact={k}>{v}</dd>
          </>
        ))}
      </dl>
      <div class="meters">
        <label>
          CPU allocation <meter min={0} max={cap.cpus} value={cap.allocated_cpus} />
        </label>
        <label>
          Memory allocation <meter min={0} max={cap.memory_mib} value={cap.allocated_memory_mib} />
        </label>
      </div>
    </section>
  );
}
