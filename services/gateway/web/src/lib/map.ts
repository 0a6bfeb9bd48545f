/**
 * The map's data and building blocks shared by MapPage and MiniMap: tile settings from the
 * server, markers from /api/map/markers, pins drawn as CSS (L.divIcon: no image files, so a
 * map without network still shows every photo), and the `/map?lat=&lon=&zoom=` URL.
 */
import type * as Leaflet from 'leaflet';
import { writable } from 'svelte/store';
import { get, query, type MapMarker, type MapTileConfig } from './api';

export type { Leaflet };

/** Leaflet + markercluster, loaded on first use (a chunk of its own). */
export async function loadLeaflet(): Promise<typeof Leaflet> {
  return (await import('./leaflet')).withMarkerCluster();
}

/**
 * Whether the server offers the map: the admin's privacy choice (onboarding), as
 * GET /api/server/features reports it (`map`); null until known. When false the nav has no Map
 * link, the map page says it is off and the viewer shows no mini map (no outside tile server
 * is asked).
 */
export const mapOn = writable<boolean | null>(null);

/** Ask the server whether the map is offered and update {@link mapOn}. */
export async function refreshMapOn(): Promise<boolean> {
  const on = (await get<{ map: boolean }>('/server/features')).map;
  mapOn.set(on);
  return on;
}

let tiles: Promise<MapTileConfig> | null = null;

/** The raster tile URL template and its credit, as the gateway is configured
 * (`DARKROOM_MAP_TILE_URL`); asked once per page load. */
export function tileConfig(): Promise<MapTileConfig> {
  tiles ??= get<MapTileConfig>('/darkroom/map').catch((error) => {
    tiles = null;
    throw error;
  });
  return tiles;
}

/** The filters of the map page (Immich's map settings: favourites only, archived too, dates). */
export interface MarkerFilter {
  isFavorite?: boolean;
  isArchived?: boolean;
  /** Also photos of albums shared with the user (or shared by them). */
  withSharedAlbums?: boolean;
  /** `YYYY-MM-DD`, inclusive, UTC. */
  from?: string;
  to?: string;
}

/** GET /api/map/markers with `filter` (dates as whole UTC days). */
export function fetchMarkers(filter: MarkerFilter = {}): Promise<MapMarker[]> {
  return get<MapMarker[]>(
    `/map/markers${query({
      isFavorite: filter.isFavorite || undefined,
      isArchived: filter.isArchived || undefined,
      withSharedAlbums: filter.withSharedAlbums || undefined,
      fileCreatedAfter: filter.from ? `${filter.from}T00:00:00.000Z` : undefined,
      fileCreatedBefore: filter.to ? `${filter.to}T23:59:59.999Z` : undefined,
    })}`,
  );
}

/** "Reykjavik, Iceland" from a marker's place (null when reverse geocoding found none). */
export function placeName(m: Pick<MapMarker, 'city' | 'state' | 'country'>): string | null {
  const parts = [m.city, m.country ?? m.state].filter((p): p is string => !!p);
  return parts.length ? parts.join(', ') : null;
}

/** The tile layer of the configured server; `onError` hears of each tile that failed. */
export function tileLayer(
  L: typeof Leaflet,
  config: MapTileConfig,
  onError?: () => void,
): Leaflet.TileLayer {
  const layer = L.tileLayer(config.tileUrl, {
    attribution: config.attribution,
    maxZoom: 19,
    crossOrigin: true,
  });
  if (onError) layer.on('tileerror', onError);
  return layer;
}

/**
 * A round icon drawn in CSS (classes `dr-pin` / `dr-cluster` in app.css) whose element gets
 * `attrs` (an `aria-label` above all: Leaflet makes marker icons focusable buttons but gives a
 * div icon no name). `text` is its visible content, e.g. a cluster's count.
 */
export function labelledIcon(
  L: typeof Leaflet,
  className: string,
  size: number,
  attrs: Record<string, string>,
  text = '',
): Leaflet.DivIcon {
  const icon = L.divIcon({ className, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
  const create = icon.createIcon.bind(icon);
  icon.createIcon = (old?: HTMLElement) => {
    const element = create(old);
    for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
    if (text) {
      const span = document.createElement('span');
      span.textContent = text;
      span.setAttribute('aria-hidden', 'true');
      element.replaceChildren(span);
    }
    return element;
  };
  return icon;
}

/** Where `/map?lat=..&lon=..&zoom=..` asks the map to look (null when not all are valid). */
export function viewFromQuery(search: string): { lat: number; lon: number; zoom: number } | null {
  const params = new URLSearchParams(search);
  const lat = Number(params.get('lat'));
  const lon = Number(params.get('lon'));
  const zoom = params.has('zoom') ? Number(params.get('zoom')) : 14;
  const ok =
    params.has('lat') &&
    params.has('lon') &&
    Number.isFinite(lat) &&
    Number.isFinite(lon) &&
    Math.abs(lat) <= 90 &&
    Math.abs(lon) <= 180 &&
    Number.isFinite(zoom);
  return ok ? { lat, lon, zoom: Math.min(19, Math.max(1, Math.round(zoom))) } : null;
}

/** The map page's URL centred on a place. */
export function mapUrl(lat: number, lon: number, zoom = 14): string {
  return `/map${query({ lat: lat.toFixed(6), lon: lon.toFixed(6), zoom })}`;
}
