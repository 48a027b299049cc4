import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { realtimeSignals } from '../lib/index.js';
import { withoutPreload } from './helpers/index.js';

const bash = (script: string): string => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: withoutPreload() }).stdout.trim();

describe('realtimeSignals', () => {
  it('reports SIGRTMIN and SIGRTMAX as glibc numbers them at run time (34 and 64)', () => {
    const { min, max, count } = realtimeSignals();
    expect(min).toBe(Number(bash('kill -l SIGRTMIN')));
    expect(max).toBe(Number(bash('kill -l SIGRTMAX')));
    expect(bash(`kill -l ${min}; kill -l ${max}`)).toBe('RTMIN\nRTMAX');
    expect(count).toBe(max - min + 1);
  });

  it('numbers no signal Node already names', () => {
    const { min, max } = realtimeSignals();
    const named = Object.values(constants.signals) as number[];
    expect(named.length).toBeGreaterThan(20);
    for (const n of named) expect(n < min || n > max).toBe(true);
  });
});
