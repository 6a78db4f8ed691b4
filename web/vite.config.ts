/** The dashboard's build: `npm run build:web` (run by `npm install`) writes web/dist, served at /dashboard. */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/dashboard/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    // pkijs (PKCS#10 and PKCS#12 in the browser) is one lazily loaded chunk of its own.
    chunkSizeWarningLimit: 1200,
  },
});
