/**
 * The container process as the guest agent knows it: what the host asks it to run (RUN) and what it
 * reports back (OUTPUT, EXIT). The sandbox layer above passes these through unchanged.
 */

/** The process to run, already merged the Docker way (see src/containers/process-spec.ts). */
export interface ProcessSpec {
  argv: string[];
  env: string[];
  cwd: string;
  /** As in an image config: `name`, `uid`, `name:group`, `uid:gid`. Empty means root. */
  user: string;
  hostname: string;
  /** Complete contents of /etc/hosts and /etc/resolv.conf in the guest. */
  hosts: string;
  resolvConf?: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface OutputChunk {
  stream: OutputStream;
  /** Guest clock, when the agent read the bytes. */
  timestamp: Date;
  /** Whole lines where possible (a chunk ends at a newline unless a line exceeds 64 KiB). */
  data: Buffer;
}

export interface ProcessExit {
  /** Exit status as Docker reports it: a death by signal n is 128+n. */
  code: number;
  signal: number | null;
}
