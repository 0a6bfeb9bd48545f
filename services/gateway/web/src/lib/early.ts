/**
 * Answers of requests sent ahead of the app (public/boot.js, run by index.html before the
 * bundle loads), each kept for exactly one later GET of the same path: lib/api `request`
 * asks here first, so the app's code keeps calling `get()` as before and nothing is asked
 * twice.
 *
 * An answer is only handed out while it can still be current: not once the app has sent a
 * write (POST/PUT/PATCH/DELETE, which may change it) nor after {@link EARLY_MAX_AGE_MS}.
 */

/** Oldest early answer handed out (ms); an older one is dropped and the path asked again. */
export const EARLY_MAX_AGE_MS = 30_000;

interface Early {
  response: Promise<Response>;
  /** performance.now() when sent (ms). */
  sent: number;
}

declare global {
  interface Window {
    /** Filled by public/boot.js: path (below /api) -> its early answer. */
    darkroomEarly?: Map<string, Early>;
  }
}

/** The early response of GET `path`, once (then undefined); undefined when none or stale. */
export function take(path: string): Promise<Response> | undefined {
  const early = window.darkroomEarly;
  const entry = early?.get(path);
  if (!entry) return undefined;
  early?.delete(path);
  return performance.now() - entry.sent > EARLY_MAX_AGE_MS ? undefined : entry.response;
}

/** Forget every early answer (the app is about to change data on the server). */
export function forget(): void {
  window.darkroomEarly?.clear();
}
