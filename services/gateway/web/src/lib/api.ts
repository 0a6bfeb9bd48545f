/**
 * The only way the app talks to the server: same-origin `fetch` to /api, authenticated by the
 * `immich_access_token` cookie that `POST /api/auth/login` sets (no token is kept in JS).
 */

/** An error answer of the API: Immich's `{message, error, statusCode}` body. */
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  const response = await fetch(`/api${path}`, init);
  if (!response.ok) {
    let message = response.statusText;
    try {
      const data = await response.json();
      message = Array.isArray(data.message) ? data.message.join(', ') : (data.message ?? message);
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.text()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, body);

/** `?a=1&b=2` from the defined values of `params` ('' when none). */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// ---- The shapes the app reads (subsets of the Immich DTOs, field names as the spec) ----

export interface ServerConfig {
  isInitialized: boolean;
  loginPageMessage?: string;
}

export interface LoginResponse {
  accessToken: string;
  userId: string;
  userEmail: string;
  name: string;
  isAdmin: boolean;
}

export interface UserResponse {
  id: string;
  email: string;
  name: string;
  isAdmin?: boolean;
}

export interface ExifInfo {
  make?: string | null;
  model?: string | null;
  lensModel?: string | null;
  fNumber?: number | null;
  focalLength?: number | null;
  iso?: number | null;
  exposureTime?: string | null;
  exifImageWidth?: number | null;
  exifImageHeight?: number | null;
  dateTimeOriginal?: string | null;
  city?: string | null;
  state?: string | null;
  country?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  description?: string | null;
}

export interface AssetResponse {
  id: string;
  type: 'IMAGE' | 'VIDEO' | 'AUDIO' | 'OTHER';
  originalFileName: string;
  originalMimeType: string;
  fileCreatedAt: string;
  localDateTime: string;
  width: number | null;
  height: number | null;
  thumbhash: string | null;
  isFavorite: boolean;
  isArchived: boolean;
  isTrashed: boolean;
  visibility: string;
  exifInfo?: ExifInfo | null;
}

export interface TimeBucket {
  timeBucket: string;
  count: number;
}

/** TimeBucketAssetResponseDto: columnar, index i of every array is the same asset. */
export interface BucketColumns {
  id: string[];
  ratio: number[];
  isImage: boolean[];
  isFavorite: boolean[];
  thumbhash: (string | null)[];
  fileCreatedAt: string[];
  localOffsetHours: number[];
  duration: (number | string | null)[];
  city: (string | null)[];
  country: (string | null)[];
}

/** URL of an asset's rendition; `cacheKey` (its thumbhash) busts the cache when it changes. */
export function thumbnailUrl(
  id: string,
  size: 'thumbnail' | 'preview' = 'thumbnail',
  cacheKey?: string | null,
): string {
  return `/api/assets/${id}/thumbnail${query({ size, c: cacheKey ?? undefined })}`;
}

// ---- Asset viewer (appended) ----

/** PersonResponseDto: a person of the caller's (an empty name is an unnamed face cluster). */
export interface PersonResponse {
  id: string;
  name: string;
  isHidden: boolean;
  isFavorite?: boolean;
  birthDate?: string | null;
}

/** AssetResponseDto fields the viewer needs beyond the base interface (declaration merging). */
export interface AssetResponse {
  /** The motion part of a live photo (a hidden VIDEO asset), or null. */
  livePhotoVideoId?: string | null;
  /** The people in the photo (only its owner sees them). */
  people?: PersonResponse[];
  /** Video length in ms (Darkroom) or "H:MM:SS.mmm" (Immich); null for photos. */
  duration?: number | string | null;
}

/** AlbumResponseDto, the fields a list of albums shows. */
export interface AlbumSummary {
  id: string;
  albumName: string;
  assetCount: number;
}

/** The original file of an asset, byte for byte (Range supported). */
export const originalUrl = (id: string) => `/api/assets/${id}/original`;

/** The player's video of an asset: the transcoded MP4 once there is one, else the original. */
export const playbackUrl = (id: string) => `/api/assets/${id}/video/playback`;
