/**
 * Live updates: Immich's websocket (socket.io at /api/socket.io, authenticated by the session
 * cookie the browser sends). The server emits `on_upload_success` once a new asset's thumbnail
 * exists, `on_asset_update` after an edit, `on_asset_trash` / `on_asset_restore` /
 * `on_asset_delete` when assets leave or come back, `on_asset_stack_update` (no payload) when
 * the user's stacks change (by hand elsewhere, or stacked at ingest), `on_notification` for the bell
 * (docs/realtime.md). Whatever happens while
 * the socket is down is read again on reconnect.
 */
import type { Socket } from 'socket.io-client';
import type { NotificationResponse } from './api';
import { afterFirstScreen } from './startup';

/** What a page does with the server's events (every callback optional). */
export interface LiveHandlers {
  /** Assets appeared or changed: re-read what is shown. */
  changed?: () => void;
  /** Assets left (trashed, deleted for good): forget them. */
  removed?: (ids: string[]) => void;
  /** A new notification for the user (`on_notification`, a NotificationDto). */
  notification?: (item: NotificationResponse) => void;
}

/** Coalesce bursts (a bulk upload sends one event per asset) into one refresh. */
const REFRESH_DEBOUNCE_MS = 300;

/**
 * Connect the websocket and route its events to `handlers` until the returned function is
 * called (a Svelte `$effect` cleanup).
 */
export function liveUpdates(handlers: LiveHandlers): () => void {
  let socket: Socket | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let connectedOnce = false;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => handlers.changed?.(), REFRESH_DEBOUNCE_MS);
  };
  // socket.io-client is a chunk of its own, and the socket opens once the timeline's first
  // screen is out (lib/startup): neither is needed to show it
  afterFirstScreen()
    .then(() => import('socket.io-client'))
    .then(({ io }) => {
      if (stopped) return;
      socket = io({
        path: '/api/socket.io',
        transports: ['websocket'],
        reconnection: true,
      });
      // `<html data-live>` tells whether live updates flow (tests and styles may look at it)
      socket.on('connect', () => {
        document.documentElement.dataset.live = 'connected';
        if (connectedOnce) changed(); // missed events while away: read again
        connectedOnce = true;
      });
      socket.on('disconnect', () => {
        document.documentElement.dataset.live = 'disconnected';
      });
      socket.on('on_upload_success', changed);
      socket.on('on_asset_update', changed);
      socket.on('on_asset_restore', changed);
      socket.on('on_asset_stack_update', changed);
      socket.on('on_asset_trash', (ids: string[]) => handlers.removed?.(ids));
      socket.on('on_asset_delete', (id: string) => handlers.removed?.([id]));
      socket.on('on_notification', (item: NotificationResponse) => handlers.notification?.(item));
    })
    .catch(() => {
      // the chunk could not be loaded (the server went away): no live updates on this page
      if (!stopped) document.documentElement.dataset.live = 'disconnected';
    });
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.disconnect();
    delete document.documentElement.dataset.live;
  };
}
