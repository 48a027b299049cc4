// greenlet's first example, with tasks: control moves only where the code
// says so (switchTo), never behind its back.
//
//   node examples/greenlet.mjs    prints 12, 56, 34; never 78
import { run, spawn, switchTo } from 'iomodes/coro';

await run(function* main() {
  const test1 = spawn(function* () {
    console.log(12);
    yield* switchTo(test2);
    console.log(34);
    // Returning here, test1 ends and control goes back to its parent, main,
    // waiting in its own switchTo: greenlet's parent rule.
  });
  const test2 = spawn(function* () {
    console.log(56);
    yield* switchTo(test1);
    console.log(78); // nobody ever switches back here
  });

  yield* switchTo(test1);

  // test2 is still parked in its switchTo. greenlet leaves such a greenlet to
  // the garbage collector; here we end it so the hub holds nothing, and its
  // finally blocks (had it any) would run.
  yield* test2.kill();
});
