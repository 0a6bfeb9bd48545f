/** Who is signed in: null until known, then the user or false (signed out). */
import { writable } from 'svelte/store';
import { ApiError, get, type UserResponse } from './api';

export const user = writable<UserResponse | null | false>(null);

/** Ask the server who the cookie belongs to (GET /api/users/me); false when nobody. */
export async function refreshUser(): Promise<UserResponse | false> {
  try {
    const me = await get<UserResponse>('/users/me');
    user.set(me);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      user.set(false);
      return false;
    }
    throw error;
  }
}

/** The cookie the server sets beside the session cookie at sign-in, readable by the app
 * (Immich's `immich_is_authenticated`): without it there is no session to ask about. */
const SIGNED_IN_COOKIE = 'immich_is_authenticated';

/** Whether this browser may hold a session: the sign-in cookie is there. Asking
 * GET /api/users/me without one would only earn an expected 401 (a console error on the
 * login page). */
export function maybeSignedIn(): boolean {
  return document.cookie.split(';').some((c) => c.trim().startsWith(`${SIGNED_IN_COOKIE}=`));
}

/** Who is signed in, asking the server only when the sign-in cookie says someone may be. */
export async function currentUser(): Promise<UserResponse | false> {
  if (maybeSignedIn()) return refreshUser();
  user.set(false);
  return false;
}

/** Forget the sign-in cookie after logging out (the server ends the session but leaves this
 * readable cookie in place). */
export function forgetSignIn(): void {
  // the cookie's attributes, not user text
  document.cookie = [`${SIGNED_IN_COOKIE}=`, 'Max-Age=0', 'path=/', 'SameSite=Lax'].join('; ');
}
