/**
 * The only way the app talks to the server: same-origin `fetch` to /api, authenticated by the
 * `immich_access_token` cookie that `POST /api/auth/login` sets (no token is kept in JS).
 */

import { formatNumber } from './i18n';
import type {
  ActivityResponseDto,
  AlbumResponseDto,
  AlbumUserResponseDto,
  ApiKeyCreateResponseDto,
  ApiKeyResponseDto,
  AssetResponseDto,
  AssetStackResponseDto,
  AuthStatusResponseDto,
  BulkIdResponseDto,
  ExifResponseDto,
  LoginResponseDto,
  MapMarkerResponseDto,
  NotificationDto,
  PartnerResponseDto,
  PeopleResponseDto,
  PersonResponseDto,
  PersonStatisticsResponseDto,
  QueueJobResponseDto,
  QueueResponseDto,
  QueueStatisticsDto,
  SearchExploreResponseDto,
  ServerConfigDto,
  SessionResponseDto,
  SharedLinkResponseDto,
  StackResponseDto,
  TagResponseDto,
  TimeBucketsResponseDto,
  UserAdminResponseDto,
} from '@immich/sdk';
import { forget as forgetEarly, take as takeEarly } from './early';

/** An error answer of the API: Immich's `{message}` body (`message` may be a list); `details`
 * holds a validation error's issues (`errors`), each as "field.path: message". */
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public details: string[] = [],
  ) {
    super(message);
  }
}

/** The ApiError of a failed answer, with the server's own message when it sent one. */
async function failure(response: Response): Promise<ApiError> {
  let message = response.statusText;
  let details: string[] = [];
  try {
    const data = await response.json();
    message = Array.isArray(data.message) ? data.message.join(', ') : (data.message ?? message);
    if (Array.isArray(data.errors)) {
      details = data.errors.map(
        (issue: { path?: string[]; message?: string }) =>
          `${(issue.path ?? []).join('.')}: ${issue.message ?? ''}`,
      );
    }
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, message, details);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  if (method !== 'GET') forgetEarly();
  const early = method === 'GET' ? takeEarly(path) : undefined;
  const response = await (early ?? fetch(`/api${path}`, init));
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.text()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, body);
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body);

/** `?a=1&b=2` from the defined values of `params` ('' when none). */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// ---- The shapes the app reads: the Immich DTOs from `@immich/sdk` 3.1.0 (the published client
// of the same spec; `import type` only, so nothing of it is bundled), and the few the app keeps
// itself where Darkroom's answer differs from the spec's or no DTO exists ----

export type ServerConfig = ServerConfigDto;

export type LoginResponse = LoginResponseDto;

export interface UserResponse {
  id: string;
  email: string;
  name: string;
  isAdmin?: boolean;
  /** GET /api/users/me (UserAdminResponseDto): a new password is to be chosen first. */
  shouldChangePassword?: boolean;
}

/** AuthStatusResponseDto: the PIN code and this session's unlock of the locked folder. */
export type AuthStatus = AuthStatusResponseDto;

export type ExifInfo = ExifResponseDto;

export type AssetResponse = AssetResponseDto;

/** Spec: AssetStackResponseDto. */
export type AssetStackResponse = AssetStackResponseDto;

/** Spec: StackResponseDto: a stack with its assets (the primary first). */
export type StackResponse = StackResponseDto;

/** Spec: TagResponseDto; `value` is the full path (`Travel/2024/Japan`), `name` its last part. */
export type TagResponse = TagResponseDto;

/** Tag `paths` (parents created) and put every leaf on `assetIds`; the leaf tags. */
export async function tagAssets(paths: string[], assetIds: string[]): Promise<TagResponse[]> {
  const leaves = await request<TagResponse[]>('PUT', '/tags', { tags: paths });
  if (leaves.length && assetIds.length) {
    await request('PUT', '/tags/assets', { tagIds: leaves.map((t) => t.id), assetIds });
  }
  return leaves;
}

export type TimeBucket = TimeBucketsResponseDto;

/** TimeBucketAssetResponseDto: columnar, index i of every array is the same asset. */
export interface BucketColumns {
  id: string[];
  ownerId: string[];
  ratio: number[];
  isImage: boolean[];
  isFavorite: boolean[];
  thumbhash: (string | null)[];
  fileCreatedAt: string[];
  localOffsetHours: number[];
  duration: (number | string | null)[];
  /** Absent for a shared link without metadata (as Immich). */
  city?: (string | null)[];
  country?: (string | null)[];
  /** With `withStacked`: `[stackId, count]` of a stack's primary, else null. */
  stack?: ([string, string] | null)[];
}

/** Spec: PartnerResponseDto (the user on the other side of a partnership). */
export type Partner = PartnerResponseDto;

/** URL of an asset's rendition; `cacheKey` (its thumbhash) busts the cache when it changes. */
export function thumbnailUrl(
  id: string,
  size: 'thumbnail' | 'preview' | 'fullsize' = 'thumbnail',
  cacheKey?: string | null,
  edited = true,
): string {
  // `edited`: the rendering with the asset's non-destructive edits when it has some (the
  // server falls back to the unedited one); the editor asks for the unedited one.
  const params = { size, edited: edited ? true : undefined, c: cacheKey ?? undefined };
  return `/api/assets/${id}/thumbnail${query(params)}`;
}

/** MapMarkerResponseDto: one geotagged asset (GET /api/map/markers). */
export type MapMarker = MapMarkerResponseDto;

/** GET /api/darkroom/map (Darkroom's own route): the web map's raster tiles. */
export interface MapTileConfig {
  tileUrl: string;
  attribution: string;
}

/** PersonResponseDto (the fields the app reads). */
export type PersonResponse = PersonResponseDto;

/** SearchExploreResponseDto: one explore field (`exifInfo.city`) with one asset per value. */
export type SearchExploreResponse = SearchExploreResponseDto;
// ---- People, account settings and administration (PeoplePage, PersonPage, SettingsPage,
// AdminPage) ----

/** The message of anything thrown (an ApiError's is the server's own text). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** PeopleResponseDto: `total` counts every person, `hidden` the hidden ones among them. */
export type PeopleResponse = PeopleResponseDto;

/** PersonStatisticsResponseDto: how many assets show the person. */
export type PersonStatistics = PersonStatisticsResponseDto;

/** BulkIdResponseDto: one id's outcome of a bulk change (people merge, album add/remove). */
export type BulkIdResponse = BulkIdResponseDto;

/** URL of a person's face crop (`updatedAt` busts the cache when the face changes). */
export function personThumbnailUrl(person: Pick<PersonResponse, 'id' | 'updatedAt'>): string {
  return `/api/people/${person.id}/thumbnail${query({ c: person.updatedAt })}`;
}

/** ApiKeyResponseDto. */
export type ApiKey = ApiKeyResponseDto;

/** ApiKeyCreateResponseDto: the secret is shown this once only. */
export type ApiKeyCreateResponse = ApiKeyCreateResponseDto;

/** SessionResponseDto (a signed-in browser or app). */
export type Session = SessionResponseDto;

/** UserAdminResponseDto (subset). */
export type UserAdmin = UserAdminResponseDto;

/** QueueStatisticsDto: job counts of one queue. */
export type QueueStatistics = QueueStatisticsDto;

/** QueueResponseDto. */
export type Queue = QueueResponseDto;

/** QueueJobResponseDto; for a failed job `data` holds the asset `id` and the `error`. */
export type QueueJob = QueueJobResponseDto;

/**
 * `1.5 GiB` from a byte count (binary units, as Immich shows storage), the number written in
 * the app's locale (`1,5 GiB` in German); the IEC unit symbols are the same in every language.
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : 1;
  const number = formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  return `${number} ${units[unit]}`;
}

// ---- Albums, bulk actions, downloads (library area) ----

/** AlbumUserResponseDto: a member of an album (the owner is listed with role `owner`). */
export type AlbumUser = AlbumUserResponseDto;

/** AlbumResponseDto (the fields the app reads). */
export type AlbumResponse = AlbumResponseDto;

/** POST `path` with a JSON body and return the answer as a Blob (a ZIP download). */
export async function postForBlob(path: string, body: unknown): Promise<Blob> {
  const response = await fetch(`/api${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

// ---- Asset viewer (appended) ----

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

/** The HLS master playlist of a video (Darkroom's own route; 404 until the ladder is made). */
export const hlsUrl = (id: string) => `/api/assets/${id}/video/hls/master.m3u8`;

/** ActivityResponseDto: a comment or a like on an album or one of its assets. */
export type ActivityResponse = ActivityResponseDto;

/** NotificationDto. */
export type NotificationResponse = NotificationDto;

// ---- Public shared links (SharedPage, SharedLinksPage, ShareDialog) ----

/** SharedLinkResponseDto (the fields the app reads). `password` is set when one is needed. */
export type SharedLink = SharedLinkResponseDto;

/** SharedLinkCreateDto / SharedLinkEditDto options the dialogs set. */
export interface SharedLinkOptions {
  description?: string | null;
  expiresAt?: string | null;
  password?: string | null;
  slug?: string | null;
  allowDownload?: boolean;
  allowUpload?: boolean;
  showMetadata?: boolean;
}

/** The public URL of a link: `/s/<slug>` when it has one, else `/share/<key>`. */
export function sharedLinkUrl(link: Pick<SharedLink, 'key' | 'slug'>): string {
  const path = link.slug ? `/s/${encodeURIComponent(link.slug)}` : `/share/${link.key}`;
  return `${window.location.origin}${path}`;
}
