/**
 * Memories ("On this day"): the shapes the memory lane and the slideshow read, and their labels.
 * Spec: MemoryResponseDto (GET /api/memories); Immich's web app asks for the memories shown on the
 * viewer's own day (`for`) and titles each "N years ago".
 */
import { get, put, query, type AssetResponse } from './api';
import { translate } from './i18n';

/** Spec: MemoryResponseDto (the fields the app reads). */
export interface Memory {
  id: string;
  type: 'on_this_day';
  data: { year: number };
  memoryAt: string;
  seenAt?: string;
  isSaved: boolean;
  assets: AssetResponse[];
}

/** Seconds a photo stays up when the user has not chosen (Immich's `memories.duration`). */
export const DEFAULT_DURATION_S = 5;

/** The viewer's local day as `YYYY-MM-DD` (the `for` of GET /api/memories). */
export function localDay(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** "1 year ago", "N years ago" (Immich's memory lane title), in the app's language. */
export function memoryTitle(memory: Memory, now: Date = new Date()): string {
  const years = Math.max(1, now.getFullYear() - memory.data.year);
  return translate('memories.years_ago', { values: { count: years } });
}

/** The memories shown today that have something to show, most recent year first. */
export async function todaysMemories(): Promise<Memory[]> {
  const found = await get<Memory[]>(`/memories${query({ for: localDay() })}`);
  return found.filter((memory) => memory.assets.length > 0);
}

/** Mark a memory seen now (as Immich's web app does when one is opened). */
export async function markSeen(memory: Memory): Promise<Memory> {
  return put<Memory>(`/memories/${memory.id}`, { seenAt: new Date().toISOString() });
}

/** The user's memory preferences (UserPreferencesResponseDto `memories`): whether the lane
 * shows (`enabled`, on by default as in Immich) and the slideshow pace in seconds. */
export async function memoryPreferences(): Promise<{ enabled: boolean; duration: number }> {
  try {
    const prefs = await get<{ memories?: { enabled?: boolean; duration?: number } }>(
      '/users/me/preferences',
    );
    const seconds = prefs.memories?.duration;
    return {
      enabled: prefs.memories?.enabled !== false,
      duration: seconds && seconds > 0 ? seconds : DEFAULT_DURATION_S,
    };
  } catch {
    return { enabled: true, duration: DEFAULT_DURATION_S };
  }
}
