import { describe, expect, it } from 'vitest';
import { pipe, read, write, close } from '../lib/index.js';

describe('smoke', () => {
  it('moves bytes through a pipe', () => {
    const [r, w] = pipe();
    expect(write(w, Buffer.from('hi'))).toBe(2);
    const buf = Buffer.alloc(8);
    expect(read(r, buf)).toBe(2);
    close(r);
    close(w);
  });
});
