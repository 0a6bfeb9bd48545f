/**
 * The only way the app talks to the server: same-origin `fetch` to /api, authenticated by the
 * `immich_access_token` cookie that `POST /api/auth/login` sets (no token is kept in JS).
 */

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
  const response = await fetch(`/api${path}`, init);
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

// ---- The shapes the app reads (subsets of the Immich DTOs, field names as the spec) ----

export interface ServerConfig {
  isInitialized: boolean;
  isOnboarded: boolean;
  maintenanceMode?: boolean;
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
  /** GET /api/users/me (UserAdminResponseDto): a new password is to be chosen first. */
  shouldChangePassword?: boolean;
}

/** AuthStatusResponseDto: the PIN code and this session's unlock of the locked folder. */
export interface AuthStatus {
  isElevated: boolean;
  password: boolean;
  pinCode: boolean;
  expiresAt?: string;
  pinExpiresAt?: string;
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
  /** Has non-destructive edits (crop, rotate, mirror). */
  isEdited?: boolean;
  visibility: string;
  exifInfo?: ExifInfo | null;
  /** The motion part of a live photo (a hidden VIDEO asset), or null. */
  livePhotoVideoId?: string | null;
  /** The people in the photo (only its owner sees them). */
  people?: PersonResponse[];
  /** Video length in ms (Darkroom) or "H:MM:SS.mmm" (Immich); null for photos. */
  duration?: number | string | null;
  ownerId?: string;
  /** The storage key of the original (its folder is the asset's folder). */
  originalPath?: string;
  /** Its tags (only its owner sees them). */
  tags?: TagResponse[];
  /** The stack it is in (GET /assets/{id} only), or null. */
  stack?: AssetStackResponse | null;
}

/** Spec: AssetStackResponseDto. */
export interface AssetStackResponse {
  id: string;
  primaryAssetId: string;
  assetCount: number;
}

/** Spec: StackResponseDto: a stack with its assets (the primary first). */
export interface StackResponse {
  id: string;
  primaryAssetId: string;
  assets: AssetResponse[];
}

/** Spec: TagResponseDto; `value` is the full path (`Travel/2024/Japan`), `name` its last part. */
export interface TagResponse {
  id: string;
  name: string;
  value: string;
  parentId?: string;
  color?: string;
  createdAt: string;
  updatedAt: string;
}

/** Tag `paths` (parents created) and put every leaf on `assetIds`; the leaf tags. */
export async function tagAssets(paths: string[], assetIds: string[]): Promise<TagResponse[]> {
  const leaves = await request<TagResponse[]>('PUT', '/tags', { tags: paths });
  if (leaves.length && assetIds.length) {
    await request('PUT', '/tags/assets', { tagIds: leaves.map((t) => t.id), assetIds });
  }
  return leaves;
}

export interface TimeBucket {
  timeBucket: string;
  count: number;
}

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
  city: (string | null)[];
  country: (string | null)[];
  /** With `withStacked`: `[stackId, count]` of a stack's primary, else null. */
  stack?: ([string, string] | null)[];
}

/** Spec: PartnerResponseDto (the user on the other side of a partnership). */
export interface Partner {
  id: string;
  name: string;
  email: string;
  inTimeline?: boolean;
}

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
export interface MapMarker {
  id: string;
  lat: number;
  lon: number;
  city: string | null;
  state: string | null;
  country: string | null;
}

/** GET /api/darkroom/map (Darkroom's own route): the web map's raster tiles. */
export interface MapTileConfig {
  tileUrl: string;
  attribution: string;
}

/** PersonResponseDto (the fields the app reads). */
export interface PersonResponse {
  id: string;
  name: string;
  isHidden: boolean;
  isFavorite?: boolean;
  birthDate?: string | null;
  /** Changes when the person (or its face crop) changes: busts the thumbnail's cache. */
  updatedAt?: string;
}

/** SearchExploreResponseDto: one explore field (`exifInfo.city`) with one asset per value. */
export interface SearchExploreResponse {
  fieldName: string;
  items: { value: string; data: AssetResponse }[];
}
// ---- People, account settings and administration (PeoplePage, PersonPage, SettingsPage,
// AdminPage) ----

/** The message of anything thrown (an ApiError's is the server's own text). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** PeopleResponseDto: `total` counts every person, `hidden` the hidden ones among them. */
export interface PeopleResponse {
  total: number;
  hidden: number;
  people: PersonResponse[];
  hasNextPage?: boolean;
}

/** PersonStatisticsResponseDto: how many assets show the person. */
export interface PersonStatistics {
  assets: number;
}

/** BulkIdResponseDto: one id's outcome of a bulk change (people merge, album add/remove). */
export interface BulkIdResponse {
  id: string;
  success: boolean;
  error?: string;
}

/** URL of a person's face crop (`updatedAt` busts the cache when the face changes). */
export function personThumbnailUrl(person: Pick<PersonResponse, 'id' | 'updatedAt'>): string {
  return `/api/people/${person.id}/thumbnail${query({ c: person.updatedAt })}`;
}

/** ApiKeyResponseDto. */
export interface ApiKey {
  id: string;
  name: string;
  permissions: string[];
  createdAt: string;
  updatedAt: string;
}

/** ApiKeyCreateResponseDto: the secret is shown this once only. */
export interface ApiKeyCreateResponse {
  apiKey: ApiKey;
  secret: string;
}

/** SessionResponseDto (a signed-in browser or app). */
export interface Session {
  id: string;
  createdAt: string;
  updatedAt: string;
  current: boolean;
  deviceOS: string;
  deviceType: string;
  appVersion: string | null;
  expiresAt?: string;
}

/** UserAdminResponseDto (subset). */
export interface UserAdmin {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  createdAt: string;
  deletedAt: string | null;
  status: string;
  quotaSizeInBytes: number | null;
  quotaUsageInBytes: number | null;
  storageLabel: string | null;
  shouldChangePassword: boolean;
}

/** QueueStatisticsDto: job counts of one queue. */
export interface QueueStatistics {
  active: number;
  completed: number;
  delayed: number;
  failed: number;
  paused: number;
  waiting: number;
}

/** QueueResponseDto. */
export interface Queue {
  name: string;
  isPaused: boolean;
  statistics: QueueStatistics;
}

/** QueueJobResponseDto; for a failed job `data` holds the asset `id` and the `error`. */
export interface QueueJob {
  id: string;
  name: string;
  data: { id?: string | null; error?: string; deliveries?: number; permanent?: boolean };
  timestamp: number;
}

/** `1.5 GiB` from a byte count (binary units, as Immich shows storage). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

// ---- Albums, bulk actions, downloads (library area) ----

/** AlbumUserResponseDto: a member of an album (the owner is listed with role `owner`). */
export interface AlbumUser {
  role: 'owner' | 'editor' | 'viewer';
  user: UserResponse;
}

/** AlbumResponseDto (the fields the app reads). */
export interface AlbumResponse {
  id: string;
  albumName: string;
  description: string;
  albumThumbnailAssetId: string | null;
  albumUsers: AlbumUser[];
  assetCount: number;
  shared: boolean;
  isActivityEnabled?: boolean;
}

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
export interface ActivityResponse {
  id: string;
  assetId: string | null;
  comment?: string | null;
  createdAt: string;
  type: 'comment' | 'like';
  user: UserResponse;
}

/** NotificationDto. */
export interface NotificationResponse {
  id: string;
  createdAt: string;
  type: string;
  level: 'success' | 'error' | 'warning' | 'info';
  title: string;
  description?: string;
  data?: Record<string, unknown>;
  readAt?: string;
}

// ---- Public shared links (SharedPage, SharedLinksPage, ShareDialog) ----

/** SharedLinkResponseDto (the fields the app reads). `password` is set when one is needed. */
export interface SharedLink {
  id: string;
  key: string;
  type: 'ALBUM' | 'INDIVIDUAL';
  slug: string | null;
  description: string | null;
  expiresAt: string | null;
  password: string | null;
  allowDownload: boolean;
  allowUpload: boolean;
  showMetadata: boolean;
  createdAt: string;
  album?: AlbumResponse;
  assets: AssetResponse[];
}

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
