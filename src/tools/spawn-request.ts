/**
 * What the manager asks the program spawner (./spawner.ts, ./spawner-child.ts) to run, and what it answers:
 * plain data, as it crosses an IPC channel.
 */
export interface SpawnRequest {
  id: number;
  program: string;
  args: string[];
  /** Standard input, base64 (a Buffer does not survive the channel as one). */
  input?: string;
  timeoutMs?: number;
  env: Record<string, string | undefined>;
  cwd?: string;
}

export interface SpawnAnswer {
  id: number;
  stdout: string;
  stderr: string;
  /** null when killed by a signal. */
  code: number | null;
  signal: string | null;
  /** The program could not be started at all (errno code and message). */
  startError?: { code?: string; message: string };
}
