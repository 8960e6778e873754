import { defineConfig } from 'vitest/config';

// `base: './'` keeps every asset URL relative, so the same build works from the Tauri custom
// protocol and from `hearth serve` at http://127.0.0.1:PORT/.
export default defineConfig({
  base: './',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: { host: '127.0.0.1' },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
