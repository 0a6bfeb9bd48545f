import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` proxies /api to a gateway on :2283 (DARKROOM_API overrides it).
export default defineConfig({
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false },
  server: {
    proxy: { '/api': process.env.DARKROOM_API ?? 'http://127.0.0.1:2283' },
  },
});
