/**
 * `iomodes/coro`: gevent and greenlet for Node. Tasks are generator
 * functions; waiting is `yield*` of an operation; a per-thread hub parks a
 * task on `EAGAIN` and wakes it when epoll (or poll) says its fd is ready.
 * See docs/coro.md.
 *
 * @module iomodes/coro
 */
export type { Awaitable, Instruction, Operation, TaskFunction } from './types.js';
export { TaskExit, TimeoutError } from './errors.js';
export { Hub, createHub, useHub } from './hub.js';
export type { HubCounts, HubOptions } from './hub.js';
export type { BackendName } from './backends/backend.js';
export { Task } from './task.js';
export { spawn, spawnLater, current, joinAll, killAll, race, asCompleted, CompletedTasks } from './spawn.js';
export type { JoinAllOptions } from './spawn.js';
export { sleep } from './sleep.js';
export { call, action } from './call.js';
export { withTimeout, Timeout } from './timeout.js';
export { switchTo } from './greenlet.js';
export { run } from './run.js';
export { waitReadable, waitWritable, read, write, recv, send, accept, connect, close } from './io.js';
/** The TCP layer: `net.listen()`, `net.connect()`, `Server`, `Stream`. */
export * as net from './net.js';
export type { Server, Stream } from './net.js';
export { Event, AsyncResult, Semaphore, BoundedSemaphore, Lock, RLock } from './sync.js';
export { Queue, LifoQueue, PriorityQueue, JoinableQueue } from './queue.js';
export type { TryResult, PriorityQueueOptions } from './queue.js';
export { Group, Pool, MapResults } from './pool.js';
export type { GroupJoinOptions } from './pool.js';
