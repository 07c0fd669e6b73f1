/*
 * Test equipment for scripts/node24.test.ts, preloaded into every Node of `npm start` with
 * NODE_OPTIONS=--import (plain JS: the older Node running npm and the launcher loads it too).
 *
 * In the local stack's process only, it stops that process (SIGSTOP) the moment the write of the
 * banner's last line returns: what a busy machine's scheduler may do when it runs the reader of that
 * line (a user, a test) before the writer's next instruction. The test then presses Ctrl-C and sends
 * SIGCONT, so a stack that had not yet set up its signal handlers when it printed "Ctrl-C stops
 * everything" dies by that Ctrl-C every time instead of once in a while.
 */
if (process.argv[1]?.endsWith("localStack.ts")) {
  const write = process.stdout.write;
  process.stdout.write = function writeThenFreeze(chunk, ...rest) {
    const written = write.call(this, chunk, ...rest);
    if (String(chunk).includes("Ctrl-C stops everything")) process.kill(process.pid, "SIGSTOP");
    return written;
  };
}
