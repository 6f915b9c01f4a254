/**
 * Ethernet frames built byte by byte, sent from inside a namespace by test/fixtures/programs/send-frames.c:
 * the tests of the bridge's anti-spoofing need frames whose source MAC, source IP or ARP sender fields are
 * whatever the test says, which no kernel would send.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { netnsExecArgv } from '../../src/tools/ip.ts';

const SOURCE = path.resolve(import.meta.dirname, '../fixtures/programs/send-frames.c');
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

/** Compiles send-frames once per process; returns `send(netns, ifname, frames)`. */
export function frameSender(): { send(netns: string, ifname: string, frames: Buffer[]): void; dispose(): void } {
  const binary = path.join(os.tmpdir(), `hearth-send-frames-${process.pid}`);
  execFileSync('musl-gcc', ['-static', '-Os', '-o', binary, SOURCE]);
  return {
    send(netns, ifname, frames) {
      const [program, args] = netnsExecArgv(netns, [binary, ifname, ...frames.map((f) => f.toString('hex'))]);
      execFileSync(program, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    },
    dispose: () => rmSync(binary, { force: true }),
  };
}
