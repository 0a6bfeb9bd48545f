import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

type ModuleInfo = { isEntry: boolean; importers: readonly string[] } | null;

/**
 * Every module the entry imports statically (itself or through others) goes into one chunk,
 * `index`: the pages loaded on demand (src/lib/pages.ts) share modules with it, and without
 * this Rollup cuts the start-up script into a dozen small files, each a request of its own on
 * the gateway's HTTP/1.1 (six at a time, beside the start-up API requests). The rest is split
 * as Rollup does by default.
 */
function startupChunk() {
  const initial = new Map<string, boolean>();
  const reached = (id: string, info: (id: string) => ModuleInfo, seen: Set<string>): boolean => {
    const known = initial.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return false;
    seen.add(id);
    const module = info(id);
    const result = !!module && (module.isEntry || module.importers.some((i) => reached(i, info, seen)));
    seen.delete(id);
    // a negative answer inside a cycle may only hold for this walk: keep the positives only
    if (result || seen.size === 0) initial.set(id, result);
    return result;
  };
  return (id: string, { getModuleInfo }: { getModuleInfo: (id: string) => ModuleInfo }) =>
    reached(id, getModuleInfo, new Set()) ? 'index' : undefined;
}

// `npm run dev` proxies /api to a gateway on :2283 (DARKROOM_API overrides it).
export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    rollupOptions: { output: { manualChunks: startupChunk() } },
  },
  server: {
    proxy: { '/api': process.env.DARKROOM_API ?? 'http://127.0.0.1:2283' },
  },
});
