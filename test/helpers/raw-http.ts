/** An HTTP/1.1 request written byte for byte, so no client normalises the path on the way. */
import net from 'node:net';

export interface RawReply {
  status: number;
  /** The response as received, headers and body. */
  text: string;
}

export function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve({ status: Number(m[1]), text });
      else reject(new Error(`no HTTP status for ${method} ${path}: ${JSON.stringify(text.slice(0, 200))}`));
    });
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    // Not ended: Node's server drops a request whose client half-closes before the answer (a slow DELETE).
    // `Connection: close` has the server close once it has answered.
    socket.write(lines.join('\r\n') + '\r\n\r\n' + body);
  });
}
