/**
 * A minimal QMP client: greeting, capabilities negotiation, then one command at a time.
 * The connection closing is how the driver learns that QEMU is gone, whether or not QEMU is our child.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

interface QmpEvents {
  event: [{ event: string; data?: unknown }];
  close: [];
}

export class QmpClient extends EventEmitter<QmpEvents> {
  private buffer = '';
  private readonly waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((resolve) => (this.greeted = resolve));
  private isClosed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.isClosed = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('QMP connection closed'));
      this.greeted();
      this.emit('close');
    });
  }

  /**
   * Connects and negotiates, within `timeoutMs`: QEMU serves one QMP client at a time, so a second client,
   * like a stopped QEMU, would otherwise wait forever for the greeting.
   */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new QmpClient(socket);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QMP did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.greeting.then(() => client.execute('qmp_capabilities')), timeout]);
    } catch (e) {
      client.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line.length > 0) this.dispatch(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private dispatch(message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.greeted();
    } else if ('event' in message) {
      this.emit('event', message as { event: string; data?: unknown });
    } else if ('return' in message) {
      this.waiting.shift()?.resolve(message.return);
    } else if ('error' in message) {
      const error = message.error as { desc?: string };
      this.waiting.shift()?.reject(new Error(`QMP: ${error.desc ?? 'unknown error'}`));
    }
  }
}
