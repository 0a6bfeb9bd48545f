/**
 * The timeline model: the months (time buckets) of the signed-in user's library, each loaded on
 * demand from GET /api/timeline/bucket (columnar) and grouped by day for display.
 *
 * Months load when scrolled near (the page calls `loadMonth`), so the first screen costs two
 * requests whatever the library size; the viewer walks assets across months with `neighbour`.
 */
import { get, query, type BucketColumns, type TimeBucket } from './api';
import { layoutMonth, type MonthLayout } from './monthLayout';

/** One asset as the grid needs it. */
export interface TimelineAsset {
  id: string;
  /** Who owns it: a partner's photos show in the main timeline too (not editable here). */
  ownerId?: string;
  /** Width / height as displayed (EXIF rotation applied by the server). */
  ratio: number;
  isImage: boolean;
  isFavorite: boolean;
  thumbhash: string | null;
  /** Local wall-clock time of capture, as a Date whose UTC fields are the local fields. */
  local: Date;
  duration: string | null;
  city: string | null;
  country: string | null;
  /** The stack it leads (timelines asked `withStacked`): its id and number of assets. */
  stack?: { id: string; count: number } | null;
}

/** The assets of one calendar day inside a month. */
export interface DayGroup {
  /** `YYYY-MM-DD` (local date of capture). */
  day: string;
  assets: TimelineAsset[];
}

/** Query parameters of GET /api/timeline/buckets and /bucket (isFavorite, albumId, ...). */
export type TimelineFilter = Record<string, string | boolean | undefined>;

/** The main timeline: what is neither archived nor hidden (trashed assets never show). */
export const MAIN_FILTER: TimelineFilter = { visibility: 'timeline' };

/** The Photos page: the main timeline plus the photos of partners the user shows in their
 * timeline (the server adds them only for partners with "show in timeline" on, as Immich's web
 * app always asks `withPartners`). */
export const PHOTOS_FILTER: TimelineFilter = {
  ...MAIN_FILTER,
  withPartners: true,
  // a stack shows once, as its primary with its count (as Immich's web timeline asks)
  withStacked: true,
};

/** Milliseconds of a bucket's UTC time: Immich writes it without a zone
 * (`2024-01-02T03:04:05.5`, PostgreSQL's JSON of a UTC `timestamp`), which `Date.parse` would
 * read as the browser's local time. */
export function parseUtc(text: string): number {
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
}

/** Columns of a bucket -> one object per asset (order kept: newest first). */
export function assetsFromColumns(columns: BucketColumns): TimelineAsset[] {
  return columns.id.map((id, i) => {
    const offsetMs = (columns.localOffsetHours[i] ?? 0) * 3_600_000;
    const duration = columns.duration[i];
    const stack = columns.stack?.[i];
    return {
      id,
      ownerId: columns.ownerId[i],
      ratio: columns.ratio[i] > 0 ? columns.ratio[i] : 1,
      isImage: columns.isImage[i],
      isFavorite: columns.isFavorite[i],
      thumbhash: columns.thumbhash[i],
      local: new Date(parseUtc(columns.fileCreatedAt[i]) + offsetMs),
      duration: duration === null || duration === undefined ? null : String(duration),
      // left out for a shared link without metadata
      city: columns.city?.[i] ?? null,
      country: columns.country?.[i] ?? null,
      stack: stack ? { id: stack[0], count: Number(stack[1]) } : null,
    };
  });
}

/** Split a month's assets (already sorted) into consecutive days. */
export function groupByDay(assets: TimelineAsset[]): DayGroup[] {
  const days: DayGroup[] = [];
  for (const asset of assets) {
    const day = asset.local.toISOString().slice(0, 10);
    const last = days[days.length - 1];
    if (last && last.day === day) last.assets.push(asset);
    else days.push({ day, assets: [asset] });
  }
  return days;
}

/** One month of the timeline; `assets` is null until loaded. */
export class Month {
  assets = $state<TimelineAsset[] | null>(null);
  days = $derived(this.assets ? groupByDay(this.assets) : []);
  #loading: Promise<TimelineAsset[]> | null = null;

  /** Laid-out height in px once measured (kept when the tiles leave the DOM). */
  height = $state<number | null>(null);
  /** id -> asset of the loaded assets, and the array it was built from (see `byId`). */
  #index: { assets: TimelineAsset[]; ids: Map<string, TimelineAsset> } | null = null;
  /** The last layout made and what it was made from (see `layout`). */
  #layout: { days: DayGroup[]; width: number; rowHeight: number; value: MonthLayout } | null =
    null;

  constructor(
    public readonly timeBucket: string,
    public count: number,
    private readonly filter: TimelineFilter = MAIN_FILTER,
  ) {}

  /**
   * The month laid out at `width` px with rows about `rowHeight` px (lib/monthLayout), or null
   * until its assets are loaded. Cached: the same days, width and row height give the same
   * object back without laying out again (a reactive read of `days`, so callers inside
   * `$derived` follow the month's changes).
   */
  layout(width: number, rowHeight: number): MonthLayout | null {
    const days = this.days;
    if (!this.assets || width <= 0) return null;
    const cached = this.#layout;
    if (cached && cached.days === days && cached.width === width && cached.rowHeight === rowHeight) {
      return cached.value;
    }
    const value = layoutMonth(days, width, rowHeight);
    this.#layout = { days, width, rowHeight, value };
    return value;
  }

  /** The loaded asset `id` of this month (a map kept per loaded list: no scan per call). */
  byId(id: string): TimelineAsset | undefined {
    const assets = this.assets;
    if (!assets) return undefined;
    if (this.#index?.assets !== assets) {
      this.#index = { assets, ids: new Map(assets.map((a) => [a.id, a])) };
    }
    return this.#index.ids.get(id);
  }

  /** Fetch the month's assets once (later calls share the same request). */
  load(): Promise<TimelineAsset[]> {
    if (this.assets) return Promise.resolve(this.assets);
    this.#loading ??= this.refresh();
    return this.#loading;
  }

  /** Fetch the month's assets again; the shown ones stay until the new ones arrive. */
  refresh(): Promise<TimelineAsset[]> {
    return get<BucketColumns>(
      `/timeline/bucket${query({ ...this.filter, timeBucket: this.timeBucket })}`,
    )
      .then((columns) => {
        this.assets = assetsFromColumns(columns);
        this.count = this.assets.length;
        return this.assets;
      })
      .finally(() => {
        this.#loading = null;
      });
  }
}

/** The whole timeline: the list of months, newest first. */
export class Timeline {
  months = $state<Month[]>([]);
  loaded = $state(false);
  error = $state('');

  /** The month `find` found an asset in last (not reactive: a hint only). */
  #lastHit: Month | null = null;

  constructor(public readonly filter: TimelineFilter = MAIN_FILTER) {}

  /** Counts `load` calls: only the latest one's answer is kept. */
  #loads = 0;

  /**
   * (Re)read the list of months; months already loaded are refreshed in place. When loads
   * overlap (an album page's first load, then its owner's sort order), the last one started
   * wins: an earlier answer arriving later is dropped, not laid over the newer months.
   */
  async load(): Promise<void> {
    const load = ++this.#loads;
    try {
      const buckets = await get<TimeBucket[]>(`/timeline/buckets${query(this.filter)}`);
      if (load !== this.#loads) return;
      const previous = new Map(this.months.map((m) => [m.timeBucket, m]));
      this.months = buckets.map((b) => {
        const month = previous.get(b.timeBucket);
        if (!month) return new Month(b.timeBucket, b.count, this.filter);
        month.count = b.count;
        return month;
      });
      // the newest month is on the first screen whatever the scroll: ask for it now, not
      // once the months are laid out and found near the viewport
      if (this.months[0]?.assets === null) this.months[0].load().catch(() => undefined);
      await Promise.all(this.months.filter((m) => m.assets !== null).map((m) => m.refresh()));
      this.error = '';
    } catch (error) {
      if (load === this.#loads) this.error = error instanceof Error ? error.message : String(error);
    } finally {
      if (load === this.#loads) this.loaded = true;
    }
  }

  /** Forget asset `id` in whichever loaded month holds it (after delete/archive/restore). */
  remove(id: string): void {
    this.removeMany([id]);
  }

  /**
   * Forget assets that left this timeline (bulk archive, trash, restore, remove from album)
   * without reloading it; months left empty disappear.
   */
  removeMany(ids: Iterable<string>): void {
    const gone = new Set(ids);
    for (const month of this.months) {
      if (month.assets?.some((a) => gone.has(a.id))) {
        month.assets = month.assets.filter((a) => !gone.has(a.id));
        month.count = month.assets.length;
      }
    }
    this.months = this.months.filter((m) => m.assets === null || m.assets.length > 0);
  }

  /** Change fields of loaded assets in place (bulk favourite). */
  patch(ids: Iterable<string>, fields: Partial<Pick<TimelineAsset, 'isFavorite'>>): void {
    for (const id of ids) {
      const asset = this.find(id);
      if (asset) Object.assign(asset, fields);
    }
  }

  /** Total number of assets over all months. */
  get total(): number {
    return this.months.reduce((sum, m) => sum + m.count, 0);
  }

  /** The loaded timeline entry of asset `id`, if its month is loaded. */
  find(id: string): TimelineAsset | undefined {
    // tiles ask in month order: the month of the last hit first, then all of them
    const asset = this.#lastHit?.byId(id);
    if (asset) return asset;
    for (const month of this.months) {
      const asset = month.byId(id);
      if (asset) {
        this.#lastHit = month;
        return asset;
      }
    }
    return undefined;
  }

  /**
   * Load the month holding asset `id`, taken at `localDateTime` (ISO, the local wall clock as
   * the spec's `localDateTime`), when it is not loaded yet: a viewer opened straight at its URL
   * then finds its neighbours. True when the asset is in a loaded month afterwards.
   */
  async locate(id: string, localDateTime: string): Promise<boolean> {
    if (this.find(id)) return true;
    if (!this.loaded) await this.load();
    const key = localDateTime.slice(0, 7);
    const month = this.months.find((m) => m.timeBucket.startsWith(key));
    if (!month) return false;
    const assets = await month.load();
    return assets.some((a) => a.id === id);
  }

  /**
   * The asset `delta` places after `id` in timeline order (1 = older, -1 = newer), loading
   * neighbouring months as needed; null at either end or when `id` is not in a loaded month.
   */
  async neighbour(id: string, delta: 1 | -1): Promise<string | null> {
    const monthIndex = this.months.findIndex((m) => m.assets?.some((a) => a.id === id));
    if (monthIndex < 0) return null;
    let assets = this.months[monthIndex].assets ?? [];
    const index = assets.findIndex((a) => a.id === id) + delta;
    if (index >= 0 && index < assets.length) return assets[index].id;
    for (let m = monthIndex + delta; m >= 0 && m < this.months.length; m += delta) {
      assets = await this.months[m].load();
      if (assets.length) return delta === 1 ? assets[0].id : assets[assets.length - 1].id;
    }
    return null;
  }
}
