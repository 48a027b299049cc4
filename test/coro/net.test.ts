/**
 * The TCP layer (lib/coro/net.ts): listen/accept, connect, and Stream's
 * read, readExactly, readLine, write, end and close — on every backend and
 * driver.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, joinAll, net, sleep, spawn, useHub, withTimeout, type Instruction } from '../../lib/coro/index.js';
import { caught, expectArgError } from '../helpers/index.js';
import { drive, expectIdle, MATRIX } from '../helpers/coro.js';

describe.each(MATRIX)('net, $backend backend, $driver driver', ({ backend, driver }) => {
  beforeEach(() => {
    createHub({ backend });
  });
  afterEach(() => {
    expectIdle();
    expect(useHub().counts.registrations).toBe(0);
  });

  it('an echo server: a task per connection, lines echoed until the client ends', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen({ host: 'localhost' });
      const { port } = server.address;
      const acceptor = spawn(function* (): Generator<Instruction, void, unknown> {
        for (;;) {
          const stream = yield* server.accept();
          spawn(function* () {
            const buf = Buffer.alloc(1024);
            try {
              for (let n; (n = yield* stream.read(buf)) > 0; ) yield* stream.write(buf.subarray(0, n));
            } finally {
              stream.close();
            }
          });
        }
      });
      const clients = [1, 2, 3].map((id) =>
        spawn(function* () {
          const stream = yield* net.connect({ host: '127.0.0.1', port });
          const lines: string[] = [];
          try {
            for (let i = 0; i < 20; i++) {
              yield* stream.write(`client ${id} line ${i}\n`);
              lines.push((yield* stream.readLine())!);
            }
            stream.end();
            lines.push(String(yield* stream.readLine())); // null: the server closed after our end
          } finally {
            stream.close();
          }
          return lines;
        }),
      );
      yield* joinAll(clients, { raiseError: true });
      yield* acceptor.kill();
      server.close();
      yield* sleep(5); // the handlers see EOF and close
      return clients.map((t) => t.value as string[]);
    });
    for (const [i, lines] of out.entries()) {
      expect(lines).toHaveLength(21);
      expect(lines[0]).toBe(`client ${i + 1} line 0`);
      expect(lines[19]).toBe(`client ${i + 1} line 19`);
      expect(lines[20]).toBe('null');
    }
  });

  it('readExactly and readLine across packet boundaries; \\r\\n, a last line without \\n, then null', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const writer = spawn(function* () {
        const stream = yield* server.accept();
        for (const piece of ['HEAD', 'ER12', 'first li', 'ne\r\nsecond line\nthi', 'rd']) {
          yield* stream.write(piece);
          yield* sleep(2);
        }
        stream.close();
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      const header = (yield* stream.readExactly(8)).toString();
      const lines: (string | null)[] = [];
      for (let i = 0; i < 4; i++) lines.push(yield* stream.readLine());
      yield* writer;
      stream.close();
      server.close();
      return { header, lines };
    });
    expect(out).toEqual({ header: 'HEADER12', lines: ['first line', 'second line', 'third', null] });
  });

  it('write(data, offset, length) sends exactly that range, of a buffer or of a string\'s UTF-8 bytes', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const writer = spawn(function* () {
        const stream = yield* server.accept();
        yield* stream.write(Buffer.from('xxhello, yy'), 2, 7); // 'hello, '
        yield* stream.write('héllo wörld', 7); // from byte 7: 'wörld'
        yield* stream.write(Buffer.from('!?'), 0, 1);
        yield* stream.write(Buffer.from('nothing'), 7); // zero bytes: a no-op
        stream.close();
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      const got = (yield* stream.readExactly(Buffer.byteLength('hello, wörld!'))).toString();
      const end = yield* stream.read(Buffer.alloc(16));
      yield* writer;
      stream.close();
      server.close();
      return [got, end];
    });
    expect(out).toEqual(['hello, wörld!', 0]);
  });

  it('sees end of stream when the peer\'s last bytes and its close arrive together', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const sender = spawn(function* () {
        const stream = yield* server.accept();
        yield* sleep(20); // the reader waits first, then gets data and FIN in one go
        yield* stream.write('hello');
        stream.close();
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      const buf = Buffer.alloc(4096);
      const first = yield* stream.read(buf);
      const second = yield* withTimeout(5000, stream.read(buf));
      yield* sender;
      stream.close();
      server.close();
      return [first, second];
    });
    expect(out).toEqual([5, 0]);
  });

  it('readExactly past the end is ERR_STREAM_PREMATURE_CLOSE, with the bytes that came', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const writer = spawn(function* () {
        const stream = yield* server.accept();
        yield* stream.write('abc');
        stream.close();
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      try {
        yield* stream.readExactly(10);
        return 'no error';
      } catch (err) {
        const e = err as { code: string; partial: Buffer };
        return `${e.code} ${e.partial.toString()}`;
      } finally {
        yield* writer;
        stream.close();
        server.close();
      }
    });
    expect(out).toBe('ERR_STREAM_PREMATURE_CLOSE abc');
  });

  it('writes of megabytes go through a full socket, every byte in order; addresses read back', async () => {
    // More than the socket's buffers hold while the reader sleeps: the
    // write comes back short (on io_uring, the ring operation goes again
    // for the rest) and must resume at the right byte.
    const size = 12 << 20;
    const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + (i >> 12)) & 255));
    const out = await drive(driver, function* () {
      const server = net.listen({ host: '127.0.0.1' });
      const sender = spawn(function* () {
        const stream = yield* server.accept();
        const r = yield* stream.write(data);
        const remote = stream.remoteAddress;
        stream.close();
        return { r, remote };
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      const local = stream.localAddress;
      yield* sleep(50);
      const got = Buffer.alloc(size + 1);
      let at = 0;
      for (let n; (n = yield* stream.read(got, at, Math.min(65536, got.length - at))) > 0; ) at += n;
      const { r, remote } = yield* sender;
      stream.close();
      server.close();
      return { r, at, same: got.subarray(0, at).equals(data), sameEnd: remote.port === local.port && remote.host === '127.0.0.1' };
    });
    expect(out).toEqual({ r: undefined, at: size, same: true, sameEnd: true });
  });

  it('a write whose buffer is detached while the socket is full fails in its task, and the hub goes on', async () => {
    const size = 12 << 20;
    const data = new Uint8Array(size).fill(5);
    const out = await drive(driver, function* () {
      const server = net.listen({ host: '127.0.0.1' });
      const writer = spawn(function* () {
        const stream = yield* server.accept();
        try {
          yield* stream.write(data);
          return 'wrote it all';
        } catch (error) {
          return (error as Error).name;
        } finally {
          stream.close();
        }
      });
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      yield* sleep(50);
      // The write waits for room; its bytes not yet sent go with the buffer.
      const { port1 } = new MessageChannel();
      port1.postMessage(null, [data.buffer]);
      port1.close();
      let got = 0;
      const buf = Buffer.alloc(65536);
      for (let n; (n = yield* stream.read(buf)) > 0; ) got += n;
      stream.close();
      server.close();
      return { outcome: yield* writer, partial: got > 0 && got < size };
    });
    expect(out).toEqual({ outcome: 'RangeError', partial: true });
  });

  it('a write to a peer that went away fails with EPIPE, and raises no SIGPIPE', async () => {
    let sigpipes = 0;
    const onSigpipe = (): void => {
      sigpipes++;
    };
    process.on('SIGPIPE', onSigpipe);
    try {
      const code = await drive(driver, function* () {
        const server = net.listen({ host: '127.0.0.1' });
        const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
        const peer = yield* server.accept();
        peer.close();
        server.close();
        try {
          // The first writes may be taken, or answered with ECONNRESET; once
          // the peer's reset is in, a write is EPIPE.
          for (let i = 0; i < 1000; i++) {
            try {
              yield* stream.write(Buffer.alloc(1024));
            } catch (error) {
              const code = (error as { code?: string }).code;
              if (code === 'EPIPE') return code;
              if (code !== 'ECONNRESET') throw error;
            }
            yield* sleep(1);
          }
          return 'no EPIPE';
        } finally {
          stream.close();
        }
      });
      expect(code).toBe('EPIPE');
      // A SIGPIPE would have reached its listener by now: the loop turns.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sigpipes).toBe(0);
    } finally {
      process.off('SIGPIPE', onSigpipe);
    }
  });

  it('closing a server wakes its accepting task with EBADF; a stream is closed once, then ERR_USE_AFTER_CLOSE', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const acceptor = spawn(function* () {
        try {
          yield* server.accept();
          return 'accepted';
        } catch (err) {
          return (err as { code: string }).code;
        }
      });
      yield* sleep(1);
      server.close();
      server.close();
      const code = yield* acceptor;
      return { code, after: caught(() => server.accept()).code, fd: server.fd };
    });
    expect(out).toEqual({ code: 'EBADF', after: 'ERR_USE_AFTER_CLOSE', fd: -1 });
  });

  it('connect to a closed port throws ECONNREFUSED and leaks no fd', async () => {
    const out = await drive(driver, function* () {
      const server = net.listen();
      const { port } = server.address;
      server.close();
      try {
        yield* net.connect({ host: '127.0.0.1', port });
        return 'connected';
      } catch (err) {
        return (err as { code: string }).code;
      }
    });
    expect(out).toBe('ECONNREFUSED');
  });
});

describe('net: bad input', () => {
  it('checks addresses, ports and options before any syscall', async () => {
    createHub();
    expectArgError(() => net.listen({ host: 'example.com' }), 'ERR_INVALID_ARG_VALUE', 'options.host');
    expectArgError(() => net.listen({ port: 70000 }), 'ERR_OUT_OF_RANGE', 'options.port');
    expectArgError(() => net.listen({ backlog: -1 }), 'ERR_OUT_OF_RANGE', 'options.backlog');
    expectArgError(() => net.listen({ reuseAddress: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', 'options.reuseAddress');
    expectArgError(() => net.listen('x' as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => net.connect(undefined as never), 'ERR_INVALID_ARG_TYPE', 'options');
    expectArgError(() => net.connect({ host: '::1%lo', port: 1 }), 'ERR_INVALID_ARG_VALUE', 'options.host');
    expectArgError(() => net.connect({ host: '127.0.0.1', port: -1 }), 'ERR_OUT_OF_RANGE', 'options.port');
    expect(caught(() => net.connect({ host: '127.0.0.1', port: 1 })[Symbol.iterator]().next()).code).toBe('ERR_CORO_OUTSIDE_TASK');
    const server = net.listen();
    const code = await spawn(function* () {
      const stream = yield* net.connect({ host: '127.0.0.1', port: server.address.port });
      const accepted = yield* server.accept();
      const codes = [
        caught(() => stream.read('x' as never)).code,
        caught(() => stream.read(Buffer.alloc(4), 0, 5)).code,
        caught(() => stream.readExactly(-1)).code,
        caught(() => stream.write(5 as never)).code,
        caught(() => stream.write(Buffer.alloc(4), 5)).code,
        caught(() => stream.write(Buffer.alloc(4), 1, 4)).code,
        caught(() => stream.write('abc', 0.5)).code,
        caught(() => stream.write(Buffer.alloc(4), '1' as never)).code,
        caught(() => stream.write(Buffer.alloc(4), 0, Number.NaN)).code,
      ];
      stream.close();
      accepted.close();
      codes.push(caught(() => stream.write('x')).code as string, caught(() => stream.readLine()).code as string);
      return codes;
    });
    server.close();
    expect(code).toEqual([
      'ERR_INVALID_ARG_TYPE',
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      'ERR_INVALID_ARG_TYPE',
      ...['ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE'], // write's offset and length
      'ERR_USE_AFTER_CLOSE',
      'ERR_USE_AFTER_CLOSE',
    ]);
  });
});
