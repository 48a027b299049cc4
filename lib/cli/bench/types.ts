/**
 * The shapes `iomodes bench` passes between its parts: a workload, what an
 * engine measured, and what the plot draws. fio's JSON output is the model
 * for the results (`jobs[].read|write.{iops, bw, clat_ns}`).
 *
 * @internal
 * @module
 */
import type { LatencySummary } from './latency.js';

/** The file engines: how a file's blocks are read and written. */
export type FileEngine = 'blocking' | 'threadpool' | 'io_uring' | 'linux-aio' | 'node-fs';
/** The readiness engines: how an echo server learns its connections are ready. */
export type ReadinessEngine = 'nonblocking' | 'select' | 'poll' | 'epoll' | 'sigio' | 'coro' | 'coro-uring' | 'node-net';
export type Engine = FileEngine | ReadinessEngine;

/** A file workload, fio's options. */
export interface FileWorkload {
  kind: 'file';
  rw: 'read' | 'randread' | 'write' | 'randwrite';
  /** Block size, bytes. */
  bs: number;
  iodepth: number;
  /** io_uring: the most I/Os per `io_uring_enter` (fio's `iodepth_batch_submit`, Ring's `submitBatch`); absent: a turn's in one. */
  batchSubmit?: number;
  direct: boolean;
  /** File size, bytes. */
  size: number;
  /** Seconds. */
  runtime: number;
  /** The file to use; undefined: a temporary file, removed afterwards. */
  file?: string;
}

/** A readiness workload: an echo ping-pong. */
export interface ReadinessWorkload {
  kind: 'readiness';
  target: 'pipe' | 'tcp';
  connections: number;
  /** Bytes per message. */
  msgSize: number;
  /** Seconds. */
  runtime: number;
}

export type Workload = FileWorkload | ReadinessWorkload;

/** One direction of a job, as fio reports it (`read` or `write`). */
export interface DirectionResult {
  /** Operations completed (I/Os, or round trips). */
  total_ios: number;
  /** Bytes moved. */
  io_bytes: number;
  /** Operations per second (round trips per second for readiness). */
  iops: number;
  /** Bandwidth, KiB/s (fio's unit). */
  bw: number;
  /** Bandwidth, bytes/s. */
  bw_bytes: number;
  /** Completion latency (per I/O, or per round trip), nanoseconds. */
  clat_ns: LatencySummary;
}

/** What one engine measured on one workload: one of fio's `jobs[]`. */
export interface JobResult {
  jobname: string;
  engine: Engine;
  workload: Workload;
  /** Seconds actually run. */
  elapsed: number;
  read: DirectionResult;
  write: DirectionResult;
  /** CPU time of this process while the job ran, as fio's usr_cpu/sys_cpu (percent of one CPU). */
  usr_cpu: number;
  sys_cpu: number;
  /** Stopped early (Ctrl-C): the figures are what was measured until then. */
  interrupted: boolean;
}

/** A progress report while a job runs, for the live line on a terminal. */
export interface Progress {
  engine: Engine;
  elapsed: number;
  ops: number;
}

/** How a job is run: stopped by `signal` (Ctrl-C), reporting progress about every 250 ms. */
export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}
