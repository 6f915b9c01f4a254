/**
 * hearth-jailer (jailer/src/jailer.c), typed: what one VMM's confinement holds, and the argv that asks the
 * jailer for it. The jailer is exec'd as root and becomes the VMM (same pid), so whoever spawns it keeps the
 * VMM's pid. Built by jailer/build.sh into `<cache dir>/jailer/hearth-jailer`.
 */
import path from 'node:path';

export const JAILER_RELATIVE_PATH = path.join('jailer', 'hearth-jailer');

export interface JailBind {
  /** Host path (file or directory). */
  source: string;
  /** Absolute path inside the jail. */
  target: string;
  readOnly: boolean;
}

export interface JailSpec {
  /** An empty host directory; a tmpfs holding the jail is mounted on it in the VMM's own mount namespace. */
  root: string;
  uid: number;
  gid: number;
  /** Cgroup directories (one per v1 hierarchy, or one v2 leaf) the VMM joins before it starts. */
  cgroups: string[];
  /** Taps the jailer opens as root and hands over at these fd numbers (3 and up). */
  taps: Array<{ name: string; fd: number }>;
  /**
   * Files the jailer opens read-only as root and hands over at these fd numbers: the VMM reads them, cannot open
   * them. `sealed`: the file must be a memfd sealed against any change (the VMM may reopen it; see tools/ramseal.ts).
   */
  reads?: Array<{ path: string; fd: number; sealed?: boolean }>;
  /** Puts the VMM in a network namespace of its own with no interfaces: it reaches the network only through its taps. */
  emptyNetns: boolean;
  /** A /proc inside the jail in which the VMM sees only its own processes (for /proc/self/fd paths). */
  procSelf?: boolean;
  /** No file the VMM writes may grow past this (RLIMIT_FSIZE). */
  maxFileBytes?: number;
  binds: JailBind[];
  /** Character devices recreated inside the jail, owned by the VMM's uid (e.g. /dev/kvm). */
  devices: string[];
  /** The VMM's whole environment. */
  env: Record<string, string>;
}

/** The jailer's arguments for running `program` (a path that exists inside the jail) with `args`. */
export function jailerArgs(spec: JailSpec, program: string, args: readonly string[]): string[] {
  const argv = ['--root', spec.root, '--uid', String(spec.uid), '--gid', String(spec.gid)];
  for (const dir of spec.cgroups) argv.push('--cgroup', dir);
  for (const tap of spec.taps) argv.push('--tap', tap.name, String(tap.fd));
  for (const r of spec.reads ?? []) argv.push(r.sealed ? '--read-sealed' : '--read-fd', r.path, String(r.fd));
  if (spec.emptyNetns) argv.push('--empty-netns');
  if (spec.procSelf) argv.push('--proc-self');
  if (spec.maxFileBytes !== undefined) argv.push('--max-file-bytes', String(spec.maxFileBytes));
  for (const b of spec.binds) argv.push(b.readOnly ? '--bind-ro' : '--bind', b.source, b.target);
  for (const d of spec.devices) argv.push('--dev', d);
  for (const [k, v] of Object.entries(spec.env)) argv.push('--env', `${k}=${v}`);
  return [...argv, '--', program, ...args];
}
