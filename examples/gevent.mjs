// gevent's three functions, as DESIGN.md shows them: each sleep parks one
// task and lets the others run, so the three sleeps overlap and the whole
// run takes 2 s, not 5.
//
//   node examples/gevent.mjs
import { joinAll, sleep, spawn } from 'iomodes/coro';

function* fun1() {
  console.log('run fun1 for the first time');
  yield* sleep(2000);
  console.log('second run fun1');
}

function* fun2() {
  console.log('run fun2 for the first time');
  yield* sleep(1000);
  console.log('second run fun2');
}

function* fun3() {
  console.log('run fun3 for the first time');
  yield* sleep(2000);
  console.log('second run fun3');
}

// Top-level await, not run(): the hub rides Node's event loop here, so this
// is all the code needed beside ordinary Node code. fun1 and fun3 wake at
// the same instant; they wake in the order they slept.
await joinAll([spawn(fun1), spawn(fun2), spawn(fun3)]);
