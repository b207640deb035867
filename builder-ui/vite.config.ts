import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The builder is served by voronka at /app/; `npm run dev` proxies the API
// and the chat socket to a local `voronka serve`.
export default defineConfig({
  base: '/app/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/ws': { target: 'ws://localhost:8080', ws: true },
    },
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
