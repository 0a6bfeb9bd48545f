/**
 * A tiny history-API router: the current path is a store; `navigate` pushes a new one.
 * Routes are matched in App.svelte (the app has few pages, a library would add little).
 */
import { writable } from 'svelte/store';

export const path = writable(window.location.pathname);

window.addEventListener('popstate', () => path.set(window.location.pathname));

/** Go to `to` (a path such as `/photos/<id>`); `replace` keeps the history length. */
export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname) return;
  if (replace) history.replaceState({}, '', to);
  else history.pushState({}, '', to);
  path.set(to);
}
