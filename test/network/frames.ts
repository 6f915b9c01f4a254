/**
 * Ethernet frames built byte by byte, sent from inside a namespace by test/fixtures/programs/send-frames.c:
 * the tests of the bridge's anti-spoofing need frames whose source MAC, source IP or ARP sender fields are
 * whatever the test says, which no kernel would send. And frames received, as a guest in promiscuous mode
 * would take them in, by test/fixtures/programs/capture-frames.c: the tests of port isolation need to see
 * every frame the bridge sends a guest, whoever it was meant for.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { netnsExecArgv } from '../../src/tools/ip.ts';

const PROGRAMS = path.resolve(import.meta.dirname, '../fixtures/programs');
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

const mac = (m: string): Buffer => Buffer.from(m.split(':').map((b) => parseInt(b, 16)));
const ipv4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);

/** The Internet checksum (RFC 1071) of `data`. */
function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) + (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ethernet(dst: string, src: string, type: number, payload: Buffer): Buffer {
  return Buffer.concat([mac(dst), mac(src), u16(type), payload]);
}

export interface UdpFrame {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  port: number;
  payload: string;
}

/** IPv4/UDP, source port 40000, UDP checksum 0 (none; allowed over IPv4). */
export function udp4(f: UdpFrame): Buffer {
  const data = Buffer.from(f.payload);
  const udp = Buffer.concat([u16(40000), u16(f.port), u16(8 + data.length), u16(0), data]);
  const header = Buffer.concat([
    Buffer.from([0x45, 0, ...u16(20 + udp.length), 0, 0, 0x40, 0, 64, 17, 0, 0]),
    ipv4(f.srcIp),
    ipv4(f.dstIp),
  ]);
  header.writeUInt16BE(checksum(header), 10);
  return ethernet(f.dstMac, f.srcMac, 0x0800, Buffer.concat([header, udp]));
}

/** IPv6/UDP to all nodes (ff02::1) from the link-local address `srcIp` (full form, 8 groups). */
export function udp6(f: Omit<UdpFrame, 'dstMac' | 'dstIp'>): Buffer {
  const addr6 = (a: string): Buffer => Buffer.concat(a.split(':').map((g) => u16(parseInt(g, 16))));
  const src = addr6(f.srcIp);
  const dst = addr6('ff02:0:0:0:0:0:0:1');
  const data = Buffer.from(f.payload);
  const udp = Buffer.concat([u16(40000), u16(f.port), u16(8 + data.length), u16(0), data]);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 0, ...u16(udp.length), 0, 0, 0, 17]), udp]);
  udp.writeUInt16BE(checksum(pseudo) || 0xffff, 6);
  const header = Buffer.concat([Buffer.from([0x60, 0, 0, 0, ...u16(udp.length), 17, 255]), src, dst]);
  return ethernet('33:33:00:00:00:01', f.srcMac, 0x86dd, Buffer.concat([header, udp]));
}

export interface ArpFrame {
  /** Ethernet source. */
  ethSrc: string;
  /** ARP sender hardware and protocol addresses. */
  sha: string;
  spa: string;
}

/** A gratuitous ARP request (target address = sender address), broadcast: "spa is at sha". */
export function gratuitousArp(f: ArpFrame): Buffer {
  const arp = Buffer.concat([
    Buffer.from([0, 1, 0x08, 0x00, 6, 4, 0, 1]),
    mac(f.sha),
    ipv4(f.spa),
    mac('00:00:00:00:00:00'),
    ipv4(f.spa),
  ]);
  return ethernet(BROADCAST, f.ethSrc, 0x0806, arp);
}

/** Compiles test/fixtures/programs/NAME.c into a static binary in the OS tmpdir; returns its path. */
export function compileProgram(name: string): string {
  const binary = path.join(os.tmpdir(), `hearth-${name}-${process.pid}`);
  execFileSync('musl-gcc', ['-static', '-Os', '-o', binary, path.join(PROGRAMS, `${name}.c`)]);
  return binary;
}

/** Compiles send-frames once per process; returns `send(netns, ifname, frames)`. */
export function frameSender(): { send(netns: string, ifname: string, frames: Buffer[]): void; dispose(): void } {
  const binary = compileProgram('send-frames');
  return {
    send(netns, ifname, frames) {
      const [program, args] = netnsExecArgv(netns, [binary, ifname, ...frames.map((f) => f.toString('hex'))]);
      execFileSync(program, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    },
    dispose: () => rmSync(binary, { force: true }),
  };
}

/** The destination MAC of a frame, as `aa:bb:cc:dd:ee:ff`. */
export function destinationOf(frame: Buffer): string {
  return [...frame.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Whether a MAC is a group address (broadcast or multicast): the I/G bit of its first byte. */
export const isGroupMac = (m: string): boolean => (parseInt(m.slice(0, 2), 16) & 1) === 1;

export interface Capture {
  /** Every frame received so far that held the marker, in order. */
  frames(): Buffer[];
  /** Ends the capture (and its promiscuous mode). */
  stop(): Promise<void>;
}

/**
 * Compiles capture-frames once per process; `start(netns, ifname, marker?)` resolves once the interface is
 * captured in promiscuous mode.
 */
export function frameCapturer(): { start(netns: string, ifname: string, marker?: string): Promise<Capture>; dispose(): void } {
  const binary = compileProgram('capture-frames');
  const running = new Set<Capture>();
  return {
    async start(netns, ifname, marker) {
      const [program, args] = netnsExecArgv(netns, [binary, ifname, ...(marker === undefined ? [] : [marker])]);
      const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const frames: Buffer[] = [];
      const lines = createInterface({ input: child.stdout });
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`capture-frames ${ifname} in ${netns} exited (${code})`)));
        lines.on('line', (line) => (line.startsWith('capturing ') ? resolve() : frames.push(Buffer.from(line, 'hex'))));
      });
      const capture: Capture = {
        frames: () => [...frames],
        async stop() {
          running.delete(capture);
          child.kill('SIGTERM');
          await exited;
        },
      };
      running.add(capture);
      return capture;
    },
    dispose() {
      for (const c of running) void c.stop();
      rmSync(binary, { force: true });
    },
  };
}
