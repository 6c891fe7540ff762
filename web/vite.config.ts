import { defineConfig } from 'vite';

// The dashboard is served by `percept serve` from web/dist; `npm run dev` proxies the API to a running server.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': process.env.PERCEPT_URL ?? 'http://127.0.0.1:5080' } },
});
