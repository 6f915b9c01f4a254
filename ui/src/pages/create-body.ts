/**
 * The Create form's values and the POST /v1/containers body made of them. Rows of ports and volumes map to the
 * body's array indexes (`rowOf`), so an error the API names `body/port_mappings/1/host_port` lands on its row.
 */
export interface PortRow {
  host_port: string;
  container_port: string;
  protocol: 'tcp' | 'udp';
  host_ip: string;
}
export interface VolumeRow {
  source: string;
  container_path: string;
  readonly: boolean;
}

export interface Form {
  image: string;
  pull: boolean;
  name: string;
  args: string;
  env: string;
  ports: PortRow[];
  volumes: VolumeRow[];
  restart_policy: string;
  restart_max_retries: string;
  cpus: string;
  memory_mib: string;
  hostname: string;
  dns: string;
  extra_hosts: string;
  tty: boolean;
  stdin_open: boolean;
  health_cmd: string;
  health_none: boolean;
  health_interval: string;
  health_timeout: string;
  health_retries: string;
  health_start_period: string;
}

export const emptyForm = (): Form => ({
  image: '',
  pull: true,
  name: '',
  args: '',
  env: '',
  ports: [],
  volumes: [],
  restart_policy: 'no',
  restart_max_retries: '',
  cpus: '',
  memory_mib: '',
  hostname: '',
  dns: '',
  extra_hosts: '',
  tty: false,
  stdin_open: false,
  health_cmd: '',
  health_none: false,
  health_interval: '',
  health_timeout: '',
  health_retries: '',
  health_start_period: '',
});

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
/** A number as typed: the API says what is wrong with it (a non-number goes as the text, named by the API). */
const num = (s: string): number | string => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s.trim());

export interface Built {
  body: Record<string, unknown>;
  /** Body index -> form row, for ports and volumes. */
  rowOf: { port_mappings: number[]; volumes: number[] };
}

export function buildBody(f: Form): Built {
  const body: Record<string, unknown> = { name: f.name.trim(), image: f.image.trim() };
  const rowOf = { port_mappings: [] as number[], volumes: [] as number[] };
  const args = lines(f.args);
  if (args.length) body.args = args;
  const env = lines(f.env);
  if (env.length) {
    body.env_vars = Object.fromEntries(env.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])));
  }
  const ports = f.ports.flatMap((p, i) => {
    if (!p.host_port.trim() && !p.container_port.trim()) return [];
    rowOf.port_mappings.push(i);
    return [{ host_port: num(p.host_port), container_port: num(p.container_port), protocol: p.protocol, ...(p.host_ip.trim() ? { host_ip: p.host_ip.trim() } : {}) }];
  });
  if (ports.length) body.port_mappings = ports;
  const volumes = f.volumes.flatMap((v, i) => {
    if (!v.source.trim() && !v.container_path.trim()) return [];
    rowOf.volumes.push(i);
    const source = v.source.trim();
    return [{ ...(source.startsWith('/') ? { host_path: source } : source ? { name: source } : {}), container_path: v.container_path.trim(), readonly: v.readonly }];
  });
  if (volumes.length) body.volumes = volumes;
  body.restart_policy = f.restart_policy;
  if (f.restart_max_retries.trim()) body.restart_max_retries = num(f.restart_max_retries);
  if (f.cpus.trim()) body.cpus = num(f.cpus);
  if (f.memory_mib.trim()) body.memory_mib = num(f.memory_mib);
  if (f.hostname.trim()) body.hostname = f.hostname.trim();
  const dns = f.dns.split(/[\s,]+/).filter(Boolean);
  if (dns.length) body.dns = dns;
  const hosts = lines(f.extra_hosts);
  if (hosts.length) body.extra_hosts = hosts.map((l) => ({ hostname: l.split(':')[0] ?? '', ip: l.slice(l.indexOf(':') + 1) }));
  if (f.tty) body.tty = true;
  if (f.stdin_open) body.stdin_open = true;
  // Timings alone tune the image's own check; a command replaces it; "none" turns any check off.
  const timings = {
    ...(f.health_interval.trim() ? { interval_s: num(f.health_interval) } : {}),
    ...(f.health_timeout.trim() ? { timeout_s: num(f.health_timeout) } : {}),
    ...(f.health_retries.trim() ? { retries: num(f.health_retries) } : {}),
    ...(f.health_start_period.trim() ? { start_period_s: num(f.health_start_period) } : {}),
  };
  if (f.health_none) body.healthcheck = { test: ['NONE'] };
  else if (f.health_cmd.trim() || Object.keys(timings).length) {
    body.healthcheck = { ...(f.health_cmd.trim() ? { test: ['CMD-SHELL', f.health_cmd.trim()] } : {}), ...timings };
  }
  return { body, rowOf };
}

/**
 * The form control an API error field names: `body/port_mappings/0/host_port` -> `ports.<row>.host_port`,
 * `body/healthcheck/interval_s` -> `healthcheck.interval_s`, `body/env_vars/...` -> `env_vars`.
 */
export function controlOf(field: string | undefined, built: Built): string {
  if (!field) return '';
  const parts = field.replace(/^body\/?/, '').split('/');
  const [top, index, sub] = parts;
  if ((top === 'port_mappings' || top === 'volumes') && index !== undefined) {
    const row = built.rowOf[top][Number(index)];
    return `${top}.${row ?? index}${sub ? '.' + sub : ''}`;
  }
  if (top === 'healthcheck') return `healthcheck${index ? '.' + index : ''}`;
  if (top === 'extra_hosts' || top === 'dns' || top === 'env_vars' || top === 'args') return top;
  return top ?? '';
}
