/**
 * A tiny history-API router: the current path is a store; `navigate` pushes a new one.
 * Routes are matched in App.svelte (the app has few pages, a library would add little).
 */
import { writable } from 'svelte/store';

export const path = writable(window.location.pathname);

window.addEventListener('popstate', () => path.set(window.location.pathname));

/** Go to `to` (a path such as `/photos/<id>`, maybe with a `?query`); `replace` keeps the
 * history length. The store holds the pathname only (as on popstate): a page reads its query
 * from `location.search`. */
export function navigate(to: string, replace = false): void {
  const url = new URL(to, window.location.origin);
  if (url.pathname + url.search === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState({}, '', to);
  else history.pushState({}, '', to);
  path.set(url.pathname);
}
