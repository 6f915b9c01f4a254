/**
 * A container's streams in Docker's framing: logs (the stored output; `follow` until the process ends) and
 * attach (the hijacked connection: the process's output from the moment it is attached, its stdin; before
 * the container starts, as `docker run` attaches, it waits for the run and misses none of its output), and
 * stats (Docker's shape, streamed every second or read once).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Attachment } from '../../../containers/attach.ts';
import type { LogEntry, LogQuery } from '../../../containers/log-store.ts';
import type { OutputChunk } from '../../../sandbox/sandbox.ts';
import type { DockerContext } from '../context.ts';
import { invalidParameter, notRunning } from '../errors.ts';
import type { HijackedStream } from '../hijack.ts';
import { resolveContainer, withContainer } from '../resolve.ts';
import { statusOf } from '../shapes/container.ts';
import { frame, parseDockerTime, streamType } from '../shapes/frames.ts';
import { dockerStats, stoppedDockerStats } from '../shapes/stats.ts';
import { atLeast } from '../version.ts';
import { boolParam } from './params.ts';

type Ref = { Params: { id: string }; Querystring: Record<string, string | undefined> };

const STATS_INTERVAL_MS = 1000;

export function containerStreamRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const { manager } = ctx;

  app.get<Ref>('/containers/:id/logs', async (req, reply) => {
    const q = req.query;
    const stdout = boolParam(q.stdout);
    const stderr = boolParam(q.stderr);
    if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
    const since = parseDockerTime(q.since, 'since');
    const until = parseDockerTime(q.until, 'until');
    const tail = q.tail === undefined || q.tail === '' || q.tail === 'all' ? undefined : Number(q.tail);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw invalidParameter(`invalid value for tail: ${JSON.stringify(q.tail)}`);
    const query: LogQuery = { ...(stdout !== stderr ? { stream: stdout ? 'stdout' : 'stderr' } : {}), ...(since ? { since } : {}), ...(tail !== undefined ? { tail } : {}) };
    const timestamps = boolParam(q.timestamps);
    const follow = boolParam(q.follow) && until === undefined;
    const c = await resolveContainer(ctx, req.params.id);
    const encode = (e: LogEntry) => {
      const line = Buffer.from(`${timestamps ? `${e.timestamp} ` : ''}${e.message}${e.crlf ? '\r\n' : '\n'}`);
      return c.tty ? line : frame(e.stream, line);
    };
    const inRange = (e: LogEntry) => until === undefined || Date.parse(e.timestamp) <= until.getTime();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': streamType(c.tty, atLeast(req.raw, '1.42')), 'Api-Version': '1.47' });
    if (!follow) {
      const entries = await manager.readLogs(c.id, query);
      for (const e of entries) if (inRange(e)) res.write(encode(e));
      res.end();
      return;
    }
    res.flushHeaders();
    const { backlog, unsubscribe, live } = await manager.followLogs(c.id, query, (e) => res.write(encode(e)), () => res.end());
    for (const e of backlog) res.write(encode(e));
    if (!live) res.end();
    res.once('close', unsubscribe);
  });

  ctx.hijacks.add(app, '/containers/:id/attach', async (req, open) => {
    const q = req.query;
    const c = await resolveContainer(ctx, req.params.id!);
    const wantStdout = boolParam(q.get('stdout') ?? undefined);
    const wantStderr = boolParam(q.get('stderr') ?? undefined);
    const wantStdin = boolParam(q.get('stdin') ?? undefined) && c.stdin_open;
    const attachment = await manager.attach(c.id, { nextRun: true });
    const stream = open(streamType(c.tty, atLeast(req.raw, '1.42')));
    const send = (chunk: OutputChunk) => {
      if (chunk.stream === 'stdout' ? !wantStdout : !wantStderr) return;
      stream.write(c.tty ? chunk.data : frame(chunk.stream, chunk.data));
    };
    if (boolParam(q.get('logs') ?? undefined)) for (const chunk of attachment.replay()) send(chunk);
    const finish = () => {
      attachment.detach();
      stream.end();
    };
    if (!boolParam(q.get('stream') ?? undefined)) return void finish();
    stream.signal.addEventListener('abort', () => attachment.detach());
    attachment.subscribe(send, finish);
    if (wantStdin && stream.input) void feedStdin(stream, attachment);
  });

  app.get<Ref>('/containers/:id/stats', async (req, reply) => {
    const c = await resolveContainer(ctx, req.params.id);
    const who = { id: c.container_id, name: c.name };
    const oneShot = boolParam(req.query['one-shot']);
    const streaming = req.query.stream === undefined || boolParam(req.query.stream);
    if (statusOf(c) !== 'running' && statusOf(c) !== 'paused') {
      // dockerd answers a stopped container's stats with zeros; the CLI shows them as such.
      if (!streaming) return reply.send(stoppedDockerStats(who));
      throw notRunning(c.container_id);
    }
    const read = () => withContainer(ctx, req.params.id, () => manager.stats(c.id));
    const first = await read();
    if (!streaming) {
      if (oneShot) return reply.send(dockerStats(first, null, who));
      await new Promise((r) => setTimeout(r, STATS_INTERVAL_MS));
      return reply.send(dockerStats(await read(), first, who));
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.47' });
    res.write(JSON.stringify(dockerStats(first, null, who)) + '\n');
    let previous = first;
    let timer: NodeJS.Timeout | undefined;
    const next = async () => {
      try {
        const now = await read();
        if (!res.writableEnded && res.writableLength < 1024 * 1024) res.write(JSON.stringify(dockerStats(now, previous, who)) + '\n');
        previous = now;
        timer = setTimeout(() => void next(), STATS_INTERVAL_MS);
      } catch {
        res.end(); // the container stopped: the stream is over
      }
    };
    timer = setTimeout(() => void next(), STATS_INTERVAL_MS);
    res.once('close', () => clearTimeout(timer));
  });
}

/** The client's bytes to the process once it runs; its end is the end of the process's stdin. */
async function feedStdin(stream: HijackedStream, attachment: Attachment): Promise<void> {
  await attachment.bound;
  const input = stream.input!;
  input.on('data', (b: Buffer) => {
    try {
      attachment.write(b);
    } catch {
      input.destroy();
    }
  });
  input.once('end', () => {
    try {
      attachment.endStdin();
    } catch {
      // the process already ended
    }
  });
}
