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
