/**
 * The docs say each call is one syscall. This runs a child under strace and
 * counts: between two marker writes (to /dev/null, on their own fd) the
 * child's main thread must make exactly one traced syscall, the expected one,
 * on the expected fd, with the expected result.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distEntry, mayskip, root, tmpDir } from './helpers/index.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;

let entry: string;


beforeAll(() => {
  if (hasStrace) entry = distEntry();
});

// Each step runs between markers @@<name>@@ and @@<name>.end@@. The child
// prints the fds it used, so the test can check each syscall's first argument.
const child = (entry: string, file: string) => `
import {
  open, pipe, socketpair, write, read, pread, pwrite, readv, writev, preadv2, pwritev2,
  tryRead, tryWrite, recv, send, WOULD_BLOCK,
} from ${JSON.stringify(entry)};

const marker = open('/dev/null', 'w');
const mark = (name) => write(marker, Buffer.from('@@' + name + '@@'));
const [r, w] = pipe();
const [nbr, nbw] = pipe({ nonblocking: true });
const [sa, sb] = socketpair();
const file = open(${JSON.stringify(file)}, 'r+');
const buf = Buffer.alloc(64);
write(w, Buffer.from('abc'));

const fds = { marker, r, w, nbr, nbw, sa, sb, file };
const results = {};
const step = (name, fn) => { mark(name); results[name] = fn(); mark(name + '.end'); };

step('read', () => read(r, buf));
step('pread', () => pread(file, buf, 2, 0, 4));
step('tryRead', () => String(tryRead(nbr, buf, 0, 16)));
step('write', () => write(w, Buffer.from('xy')));
step('pwrite', () => pwrite(file, Buffer.from('Z'), 1));
step('readv', () => readv(r, [buf.subarray(0, 1), buf.subarray(1, 8)]));
step('writev', () => writev(w, [Buffer.from('1'), Buffer.from('23')]));
step('preadv2', () => preadv2(file, [buf], 0));
step('pwritev2', () => pwritev2(file, [Buffer.from('!')], -1));
step('tryWrite', () => tryWrite(nbw, Buffer.from('q')));
step('send', () => send(sa, Buffer.from('hey')));
step('recv', () => recv(sb, buf));
process.stdout.write(JSON.stringify({ pid: process.pid, fds, results }) + '\\n');
`;

interface Call {
  tid: number;
  name: string;
  args: string;
  result: string;
}

/** Parses `strace -f -o` output; an interrupted call is counted once, at its start. */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+([a-z0-9_]+)\((.*?)(?:\)\s+=\s+(.*)|\s*<unfinished \.\.\.>)$/.exec(line);
    if (m) calls.push({ tid: Number(m[1]), name: m[2]!, args: m[3]!, result: m[4] ?? '(unfinished)' });
  }
  return calls;
}

describe('one syscall per call, as strace sees it', () => {
  it('read, pread, tryRead (and the other calls) each make exactly one syscall', () => {
    if (!hasStrace && mayskip('strace is not installed')) return;
    const dir = tmpDir();
    const file = join(dir, 'data');
    const script = join(dir, 'child.mjs');
    const trace = join(dir, 'trace.txt');
    writeFileSync(file, '0123456789');
    writeFileSync(script, child(entry, file));
    const syscalls = 'read,pread64,write,pwrite64,readv,writev,preadv2,pwritev2,sendto,recvfrom';
    const run = spawnSync('strace', ['-f', '-qq', '-e', `trace=${syscalls}`, '-o', trace, process.execPath, script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0 && /ptrace|Operation not permitted/.test(run.stderr) && mayskip(`strace cannot trace here: ${run.stderr}`)) return;
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { pid, fds, results } = JSON.parse(run.stdout) as { pid: number; fds: Record<string, number>; results: Record<string, number | string> };

    // The child's main thread has the child's pid as its tid.
    const main = parseTrace(readFileSync(trace, 'utf8')).filter((call) => call.tid === pid);
    const isMarker = (call: Call, name: string) => call.name === 'write' && call.args.startsWith(`${fds.marker}, "@@${name}@@"`);
    const between = (name: string): Call[] => {
      const start = main.findIndex((call) => isMarker(call, name));
      const end = main.findIndex((call) => isMarker(call, `${name}.end`));
      expect(start, `marker @@${name}@@ in the trace`).toBeGreaterThanOrEqual(0);
      expect(end, `marker @@${name}.end@@ in the trace`).toBeGreaterThan(start);
      return main.slice(start + 1, end);
    };
    const expectOne = (step: string, name: string, fd: number, result: string) => {
      const calls = between(step);
      expect(calls.map((c) => c.name), `syscalls made by ${step}()`).toEqual([name]);
      expect(calls[0]!.args.split(',')[0], `${step}() fd`).toBe(String(fd));
      expect(calls[0]!.result, `${step}() result`).toBe(result);
    };

    expect(results).toEqual({
      read: 3,
      pread: 4,
      tryRead: 'Symbol(iomodes.WOULD_BLOCK)',
      write: 2,
      pwrite: 1,
      readv: 2,
      writev: 3,
      preadv2: 10,
      pwritev2: 1,
      tryWrite: 1,
      send: 3,
      recv: 3,
    });
    expectOne('read', 'read', fds.r!, '3');
    expectOne('pread', 'pread64', fds.file!, '4');
    expect(between('pread')[0]!.args).toMatch(/, 4, 2$/); // count 4 at position 2
    expectOne('tryRead', 'read', fds.nbr!, '-1 EAGAIN (Resource temporarily unavailable)');
    expectOne('write', 'write', fds.w!, '2');
    expectOne('pwrite', 'pwrite64', fds.file!, '1');
    expectOne('readv', 'readv', fds.r!, '2');
    expectOne('writev', 'writev', fds.w!, '3');
    expectOne('preadv2', 'preadv2', fds.file!, '10');
    expectOne('pwritev2', 'pwritev2', fds.file!, '1');
    expectOne('tryWrite', 'write', fds.nbw!, '1');
    // glibc's send and recv are the sendto and recvfrom syscalls.
    expectOne('send', 'sendto', fds.sa!, '3');
    expectOne('recv', 'recvfrom', fds.sb!, '3');
    // The flags the calls add themselves: never wait, and no SIGPIPE.
    expect(between('send')[0]!.args).toContain('MSG_DONTWAIT|MSG_NOSIGNAL');
    expect(between('recv')[0]!.args).toContain('MSG_DONTWAIT');
    expect(between('pwritev2')[0]!.args).toMatch(/, -1, 0$/); // position -1, no RWF flags
    expect(readFileSync(file, 'utf8')).toBe('!Z23456789') // pwritev2 at -1: the fd's offset, still 0;
  });
});
