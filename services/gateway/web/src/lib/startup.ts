/**
 * Start-up order: while a timeline lays out its first screen at the app's start, the requests
 * that screen does not need (the bell's notifications, the memory lane, the map flag, the live
 * updates' websocket) wait until its thumbnails are asked for, so that the months, the newest
 * month and those thumbnails have the server and the browser's six connections to themselves
 * (issue #20 item 4). They go at once on every later page, and at the latest
 * {@link STARTUP_WAIT_MAX_MS} after they were asked.
 */

/** Longest a deferred request waits for the first screen (ms). */
export const STARTUP_WAIT_MAX_MS = 3000;

/** Timelines laying out their first screen now (the app's first only). */
let pending = 0;
/** The app's first screen is out (or no timeline was the first page): nothing waits. */
let over = false;
let waiters: (() => void)[] = [];

function release(): void {
  over = true;
  const ready = waiters;
  waiters = [];
  for (const resolve of ready) resolve();
}

/**
 * A timeline starts laying out its first screen: until the returned function is called (its
 * first screen is laid out, or it is gone), {@link afterFirstScreen} waits. Called while the
 * component is created, so before any component's `onMount` of the same page asks.
 */
export function firstScreenPending(): () => void {
  if (over) return () => undefined;
  pending += 1;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    pending -= 1;
    release();
  };
}

/** Resolves once the app's first timeline screen is laid out (at once when none is pending). */
export function afterFirstScreen(): Promise<void> {
  if (over || pending === 0) return Promise.resolve();
  return new Promise((resolve) => {
    waiters.push(resolve);
    setTimeout(resolve, STARTUP_WAIT_MAX_MS);
  });
}
