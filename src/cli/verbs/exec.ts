/**
 * `hearth exec [-i] [-t] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD...`: a command beside the container's
 * process. Its output as it comes (stdout and stderr apart, byte for byte), and its exit code as the CLI's.
 * Without -i or -t the API's NDJSON stream carries it; with either, the attach WebSocket (stdin, terminal).
 * @module
 */
import { CliError, type Client } from '../client.ts';
import { findContainer } from '../containers.ts';
import { runSession, terminalSize } from '../session.ts';
import { parseEnv } from './run-options.ts';

export interface ExecOptions {
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  env?: string[];
  user?: string;
  workdir?: string;
}

export async function exec(client: Client, ref: string, cmd: string[], opts: ExecOptions): Promise<number> {
  if (opts.interactive && opts.tty && !process.stdin.isTTY) throw new CliError('the input device is not a TTY: leave out -t, or run from a terminal');
  const container = await findContainer(client, ref);
  const env = parseEnv(opts.env ?? []);
  const { id } = await client.json<{ id: string }>('POST', `/v1/containers/${container.id}/exec`, {
    body: {
      cmd,
      tty: opts.tty ?? false,
      stdin: opts.interactive ?? false,
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(opts.user === undefined ? {} : { user: opts.user }),
      ...(opts.workdir === undefined ? {} : { working_dir: opts.workdir }),
    },
  });
  if (opts.detach) {
    await client.json('POST', `/v1/exec/${id}/start`, { body: { detach: true } });
    return 0;
  }
  let code: number | null = null;
  if (opts.interactive || opts.tty) {
    const ws = await client.websocket(`/v1/exec/${id}/attach`, opts.tty ? terminalSize() : {});
    code = await runSession(ws, { stdin: opts.interactive ?? false, tty: opts.tty ?? false });
  } else {
    for await (const line of client.ndjson<{ stream?: string; data?: string; exit_code?: number | null }>('POST', `/v1/exec/${id}/start`, { body: { detach: false } })) {
      if (line.data !== undefined) (line.stream === 'stderr' ? process.stderr : process.stdout).write(Buffer.from(line.data, 'base64'));
      if ('exit_code' in line) code = line.exit_code ?? null;
    }
  }
  if (code === null) throw new CliError('the command has no exit code: the container stopped before it ended');
  return code;
}
