/**
 * `hearth run`: create a container from flags (run-options.ts), pulling its image first with progress if it
 * is not here, wait for its VM to come up, then with `-d` print its id, or else stay with its process: its
 * output (the logs, followed; with -i or -t the attach WebSocket, stdin and terminal), then its exit code as
 * the CLI's. `--rm` deletes it once its process ended, or when the run fails.
 *
 * The API starts a container as it creates it (there is no create-then-attach-then-start in /v1), so an
 * interactive run attaches once the process runs, asking for the output kept since it started (`logs=true`);
 * a process that ended before that is shown from its logs.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ApiError, CliError, seg, type Client } from '../client.ts';
import { PROVISIONING, type ContainerItem } from '../containers.ts';
import { runSession, terminalSize } from '../session.ts';
import { pullImage } from './pull.ts';
import { RunUsageError, flagOf, parseCpus, parseEnv, parseMemory, parsePort, parseRestart, parseVolume } from './run-options.ts';

export interface RunOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  publish?: string[];
  env?: string[];
  volume?: string[];
  name?: string;
  restart?: string;
  memory?: string;
  cpus?: string;
  rm?: boolean;
}

/** The create request the flags describe. */
export function createRequest(image: string, args: string[], opts: RunOptions): Record<string, unknown> {
  const restart = opts.restart === undefined ? undefined : parseRestart(opts.restart);
  if (opts.rm && restart !== undefined && restart.restart_policy !== 'no') {
    throw new RunUsageError('--rm and --restart cannot go together: a container that restarts is never done');
  }
  // The manager has no auto-remove: `--rm` is the CLI deleting the container once the process ended, so
  // the CLI must stay for it.
  if (opts.rm && opts.detach) throw new RunUsageError('--rm needs the run in the foreground: leave out -d (Hearth has no auto-remove)');
  const env = parseEnv(opts.env ?? []);
  return {
    name: opts.name ?? generatedName(image),
    image,
    args,
    ...(Object.keys(env).length > 0 ? { env_vars: env } : {}),
    ...(opts.publish?.length ? { port_mappings: opts.publish.map(parsePort) } : {}),
    ...(opts.volume?.length ? { volumes: opts.volume.map((v) => parseVolume(v)) } : {}),
    ...(restart ?? {}),
    ...(opts.memory === undefined ? {} : { memory_mib: parseMemory(opts.memory) }),
    ...(opts.cpus === undefined ? {} : { cpus: parseCpus(opts.cpus) }),
    tty: opts.tty ?? false,
    stdin_open: opts.interactive ?? false,
  };
}

/** The API needs a name; docker makes one up, and so does this: the image's name and six hex digits. */
export function generatedName(image: string): string {
  const repo = image.split('@')[0]!.split('/').pop()!.split(':')[0]!.replace(/[^a-zA-Z0-9_.-]/g, '');
  return `${/^[a-zA-Z0-9]/.test(repo) ? repo : 'c'}-${randomBytes(3).toString('hex')}`;
}

export async function run(client: Client, image: string, args: string[], opts: RunOptions): Promise<number> {
  const body = createRequest(image, args, opts);
  if (opts.interactive && opts.tty && !process.stdin.isTTY) throw new RunUsageError('the input device is not a TTY: leave out -t, or run from a terminal');
  await pullIfMissing(client, image);
  let id: string | undefined;
  let removed = false;
  // A failed removal is said, and does not hide how the run ended (the status is the process's).
  const remove = async () => {
    if (!opts.rm || removed || id === undefined) return;
    removed = true;
    await client.request('DELETE', `/v1/containers/${id}`).catch((e: Error) => {
      process.stderr.write(`hearth: could not remove container ${id}: ${e.message}\n`);
    });
  };
  // Ctrl-C before the process's output is joined: nothing to pass it to yet, so the run is given up (130)
  // and with --rm the container removed. Joining it hands Ctrl-C over to the process (attached, runSession).
  let interrupted = false;
  const giveUp = () => {
    interrupted = true;
    if (id !== undefined) void remove().finally(() => process.exit(130));
  };
  const handOver = () => process.removeListener('SIGINT', giveUp);
  process.on('SIGINT', giveUp);
  try {
    try {
      id = (await client.json<{ id: string }>('POST', '/v1/containers', { body })).id;
    } catch (e) {
      const flag = e instanceof ApiError ? flagOf(e.field) : undefined;
      throw flag === undefined ? e : new CliError(`${(e as Error).message} [${flag}]`);
    }
    if (interrupted) {
      await remove();
      return 130;
    }
    const up = await untilProvisioned(client, id);
    if (up.state === 'error') {
      const why = up.error_message ?? 'no reason recorded';
      throw new CliError(`the container did not start: ${why}`, startFailureStatus(why));
    }
    if (opts.detach) {
      process.stdout.write(`${id}\n`);
      return 0;
    }
    const code = opts.interactive || opts.tty ? await interactive(client, up, opts, handOver) : await attached(client, id, handOver);
    if (code === null) {
      const item = (await client.json<{ item: ContainerItem }>('GET', `/v1/containers/${id}`)).item;
      throw new CliError(`the container ended without an exit code: ${item.error_message ?? item.state}`);
    }
    return code;
  } finally {
    handOver();
    await remove();
  }
}

/**
 * docker's statuses for a process that could not start, read from the message as docker's CLI reads it:
 * 127 for a command that is not there, 126 for one that cannot run, 125 for any other failure of Hearth's.
 */
export function startFailureStatus(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|not executable|exec format error/i.test(message)) return 126;
  return 125;
}

/** docker's "Unable to find image locally", then the pull with its progress on stderr. */
async function pullIfMissing(client: Client, image: string): Promise<void> {
  try {
    await client.json('GET', `/v1/images/${seg(image)}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    process.stderr.write(`Unable to find image '${image}' locally\n`);
    await pullImage(client, image, process.stderr);
  }
}

/** Polls until the VM is up (or failed): the API has no "running" wait. */
async function untilProvisioned(client: Client, id: string): Promise<ContainerItem> {
  for (;;) {
    const { item } = await client.json<{ item: ContainerItem }>('GET', `/v1/containers/${id}`);
    if (!PROVISIONING.has(item.state)) return item;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Output from the logs (gap-free from the first line, stdout and stderr apart), then the exit code. */
async function attached(client: Client, id: string, handOver: () => void): Promise<number | null> {
  // Ctrl-C or a TERM to the CLI goes to the process, as docker's sig-proxy does; the process decides. A
  // third Ctrl-C leaves it to itself (130, as a shell reports an interrupt).
  let interrupts = 0;
  const forward = (signal: NodeJS.Signals) => {
    void client.request('POST', `/v1/containers/${id}/kill`, { query: { signal } }).catch(() => {});
    if (signal === 'SIGINT' && ++interrupts === 3) {
      process.stderr.write(`hearth: left after three interrupts: container ${id} goes on\n`);
      process.exit(130);
    }
  };
  handOver();
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    await printLogs(client, id, true);
    const { exit_code } = await client.json<{ exit_code: number | null }>('POST', `/v1/containers/${id}/wait`);
    return exit_code;
  } finally {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
  }
}

async function printLogs(client: Client, id: string, follow: boolean): Promise<void> {
  if (follow) {
    for await (const e of client.ndjson<{ stream: string; message: string }>('GET', `/v1/containers/${id}/logs`, { query: { follow: true } })) (e.stream === 'stderr' ? process.stderr : process.stdout).write(`${e.message}\n`);
    return;
  }
  const { items } = await client.json<{ items: { stream: string; message: string }[] }>('GET', `/v1/containers/${id}/logs`);
  for (const e of items) (e.stream === 'stderr' ? process.stderr : process.stdout).write(`${e.message}\n`);
}

async function interactive(client: Client, up: ContainerItem, opts: RunOptions, handOver: () => void): Promise<number | null> {
  let ws;
  try {
    ws = await client.websocket(`/v1/containers/${up.id}/attach`, { logs: true, ...(opts.tty ? terminalSize() : {}) });
  } catch (e) {
    // Ended before the attach: what it printed is in its logs.
    if (!(e instanceof ApiError) || e.status !== 409) throw e;
    await printLogs(client, up.id, false);
    return (await client.json<{ exit_code: number | null }>('POST', `/v1/containers/${up.id}/wait`)).exit_code;
  }
  handOver();
  return runSession(ws, { stdin: opts.interactive ?? false, tty: opts.tty ?? false });
}
