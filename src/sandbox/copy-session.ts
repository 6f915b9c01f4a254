/**
 * `docker cp` over the control channel: a copy is a guest session whose child writes or reads a tar instead of
 * running a command (docs/guest-protocol.md, Copies). Its tar arrives as stdout OUTPUT (copy out) or goes as
 * STDIN (copy in); a failure's message comes on stderr and its EXIT code says what kind it was.
 * Both directions are paced: the host stops reading the channel while the reader of a copy is slow, and waits
 * for the channel to drain before sending more of a tar, so a file is never held whole in memory.
 * @module
 */
import { Readable } from 'node:stream';
import type { AgentClient } from '../agent/client.ts';
import { HearthError } from '../errors.ts';
import type { AgentExecSession } from './exec-session.ts';

/** The copy child's exit codes (guest/init/src/copy.h enum copy_status). */
const COPY_BAD = 1;
const COPY_NOT_FOUND = 2;

/** The error for a copy that ended with `code` (null: the channel or the VM went first). */
export function copyError(code: number | null, message: string, vmId: string): HearthError {
  const text = message.trim() || `copy failed with code ${code}`;
  if (code === COPY_NOT_FOUND) return new HearthError('NotFound', 'HEARTH_ERR_PATH_NOT_FOUND', text);
  if (code === COPY_BAD) return new HearthError('InvalidArgument', 'HEARTH_ERR_COPY_INVALID', text);
  if (code === null) return new HearthError('Unavailable', 'HEARTH_ERR_CONTROL_CHANNEL', `VM ${vmId}: the copy was cut off (control channel or VM lost)`);
  return new HearthError('Internal', 'HEARTH_ERR_COPY_FAILED', `VM ${vmId}: ${text}`);
}

/**
 * The tar of a copy-out session. Resolves with the stream once the first bytes came (so a missing path is a
 * rejection, not a broken stream); a failure after that destroys the stream with the error.
 */
export function readCopy(session: AgentExecSession, agent: AgentClient, vmId: string): Promise<Readable> {
  let stderr = '';
  let paused = false;
  const stream = new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (paused) {
        paused = false;
        agent.resumeInput();
      }
    },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve(stream);
      }
    };
    session.on('output', (chunk) => {
      if (chunk.stream === 'stderr') {
        stderr += chunk.data.toString('utf8');
        return;
      }
      settle();
      if (!stream.push(chunk.data) && !paused) {
        paused = true;
        agent.pauseInput();
      }
    });
    session.on('error', (e) => (stderr += e.message));
    void session.wait().then((exit) => {
      if (paused) agent.resumeInput();
      paused = false;
      const code = exit ? exit.code : null;
      if (code === 0) {
        settle();
        stream.push(null);
        return;
      }
      const error = copyError(code, stderr, vmId);
      if (settled) stream.destroy(error);
      else {
        settled = true;
        reject(error);
      }
    });
  });
}

/** Sends `tar` to a copy-in session, then its end; resolves when the guest extracted it. */
export async function writeCopy(session: AgentExecSession, agent: AgentClient, tar: Readable, vmId: string): Promise<void> {
  let stderr = '';
  session.on('output', (chunk) => {
    if (chunk.stream === 'stderr') stderr += chunk.data.toString('utf8');
  });
  session.on('error', (e) => (stderr += e.message));
  try {
    for await (const chunk of tar) {
      if (session.done) break; // the guest gave up (a bad archive): what is left goes nowhere
      await agent.stdinPaced(session.id, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    }
  } catch (e) {
    session.signal(9); // the body broke: the half-written archive is abandoned
    await session.wait();
    throw e;
  }
  session.end();
  const exit = await session.wait();
  if (exit?.code !== 0) throw copyError(exit ? exit.code : null, stderr, vmId);
}
