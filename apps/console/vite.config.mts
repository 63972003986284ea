// Builds the console into dist/console (served by the key service at /console/): everything bundled,
// no inline script (the server's CSP has no 'unsafe-inline'), asset names hashed so they can be cached.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    // The polyfill would be inlined into index.html; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // Small assets stay files: a data: URL script or style would need a looser CSP.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
