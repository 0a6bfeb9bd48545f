/**
 * Leaflet with the markercluster plugin and both stylesheets. Imported only through
 * `loadLeaflet()` in map.ts (a dynamic import), so the ~200 kB of map code is a chunk of its own
 * that only the map pages download.
 */
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import 'leaflet.markercluster/dist/MarkerCluster.css';

let ready: Promise<typeof L> | null = null;

/** Leaflet, once `L.markerClusterGroup` exists. The plugin (a UMD script) extends the global
 * `L`, which Leaflet 1.9's ES build no longer sets, so it is set here before the plugin loads. */
export function withMarkerCluster(): Promise<typeof L> {
  ready ??= (async () => {
    (window as unknown as { L: typeof L }).L = L;
    await import('leaflet.markercluster');
    return L;
  })();
  return ready;
}
