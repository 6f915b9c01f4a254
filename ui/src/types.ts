/** The API's shapes the UI reads (docs/api.md; the schemas in src/api/ are the source). */
export interface PortMapping {
  container_port: number;
  host_port: number;
  protocol: 'tcp' | 'udp';
  host_ip: string | null;
}

export interface Container {
  id: string;
  name: string;
  image: string;
  image_digest: string | null;
  state: string;
  args: string[];
  env_vars: Record<string, string>;
  volumes: Array<{ name: string | null; host_path: string | null; container_path: string; readonly: boolean }>;
  port_mappings: PortMapping[];
  restart_policy: string;
  cpus: number | null;
  memory_mib: number | null;
  guest_ip: string | null;
  exit_code: number | null;
  error_message: string | null;
  oom_killed: boolean;
  restart_count: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  health: { status: string; failing_streak: number; log: Array<{ end: string; exit_code: number; output: string }> } | null;
}

export interface HearthEvent {
  id: number;
  container_id: string | null;
  image: string | null;
  time: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
  message: string | null;
  /** Absent from a container's own event list (GET /v1/containers/{id}/events). */
  exit_code?: number | null;
  health_status: string | null;
}

export interface Stats {
  read: string;
  cpu: { usage_ns: number | null; guest_total_ns: number | null; host_ns: number; vcpus: number; limit_cpus: number };
  memory: { usage_bytes: number | null; limit_bytes: number | null; host_private_bytes: number; vm_bytes: number };
  network: { rx_bytes: number; tx_bytes: number } | null;
  block_io: Array<{ disk: string; read_bytes: number; write_bytes: number }>;
  pids: { current: number | null };
}

export const STATES = ['creating', 'booting', 'initializing', 'running', 'recovering', 'paused', 'unresponsive', 'stopped', 'exited', 'error'];
/** States in which the container holds a VM that can be stopped. */
export const ACTIVE = new Set(['creating', 'booting', 'initializing', 'running', 'recovering', 'paused', 'unresponsive']);
