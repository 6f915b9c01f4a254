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
  /** A pseudo-terminal for the process (`docker run -t`); absent or false: pipes, as before. */
  tty?: boolean;
  /** A stdin the host feeds (`docker run -i`); absent or false: /dev/null. */
  stdin?: boolean;
  /** Initial window size with `tty` (the guest's default is 24x80). */
  size?: { rows: number; cols: number };
  /** Bit n for capability n (the CAPABILITIES record); absent: the agent's own set, every one. */
  capabilities?: number;
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
  /**
   * The main process's only, and only when true: the kernel's OOM killer ended a process of the container
   * (this one or another) because they reached their memory limit (Docker's OOMKilled).
   */
  oomKilled?: true;
}

/**
 * A command run in a running container beside its main process (`docker exec`): the same root filesystem,
 * with its argv, env, cwd and user already merged the Docker way by the host.
 */
export interface ExecSpec {
  argv: string[];
  env: string[];
  cwd: string;
  /** As ProcessSpec.user; empty means the container's user. */
  user: string;
  /** A pseudo-terminal: stdout and stderr are one stream, the window size is set and can change. */
  tty: boolean;
  /** Keep stdin open for `write`; without it the command's stdin is /dev/null. */
  stdin: boolean;
  /** Initial window size, with `tty`. */
  size?: { rows: number; cols: number };
  /** As ProcessSpec.capabilities. */
  capabilities?: number;
}

export interface ExecSessionEvents {
  started: [{ pid: number }];
  /** With a tty, all output is `stdout`. */
  output: [OutputChunk];
  /** The command could not start (then `exit` follows with 126 or 127, as Docker's). */
  error: [{ code: number; message: string }];
  exit: [ProcessExit];
}

/** One exec inside a guest, as the sandbox layer hands it out. */
export interface ExecSession {
  /** The guest protocol's session id (non-zero). */
  readonly id: number;
  on<K extends keyof ExecSessionEvents>(event: K, listener: (...args: ExecSessionEvents[K]) => void): this;
  once<K extends keyof ExecSessionEvents>(event: K, listener: (...args: ExecSessionEvents[K]) => void): this;
  /** Bytes for the command's stdin (with `stdin`). */
  write(data: Buffer): void;
  /** End of stdin: the command reads EOF. */
  end(): void;
  resize(rows: number, cols: number): void;
  /** A signal to the command (its process group with a tty, as a terminal would). */
  signal(signo: number): void;
  /** Resolves with the exit, or null if the VM ended (or the channel was lost) first. */
  wait(): Promise<ProcessExit | null>;
}

/** One process in the guest, as `docker top` lists it. */
export interface GuestProcess {
  pid: number;
  ppid: number;
  user: string;
  /** The command line, arguments joined by spaces. */
  command: string;
  cpuTimeMs: number;
  rssBytes: number;
}
