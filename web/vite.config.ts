/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** Dev server proxies the API to a local aihub (make run) on 127.0.0.1:8000. */
const backend = process.env.AIHUB_DEV_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": { target: backend, changeOrigin: false, ws: true },
      "/v1": { target: backend, changeOrigin: false, ws: true },
    },
  },
  build: {
    outDir: "../src/aihub/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    rolldownOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
        // The chat route must stay small: the framework goes into one cached
        // vendor chunk; heavy libraries (katex, highlight.js languages, uplot)
        // are only reached through dynamic import() and get their own chunks.
        codeSplitting: {
          groups: [
            {
              name: "react",
              test: /node_modules[\\/](react|react-dom|scheduler|react-router)[\\/]/,
              priority: 20,
            },
            {
              name: "query",
              test: /node_modules[\\/](@tanstack|zustand|openapi-fetch)[\\/]/,
              priority: 10,
            },
          ],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: false,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
