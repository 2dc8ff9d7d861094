import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app talks to `/graphql` on its own origin; the dev and preview servers pass that path
// (WebSocket upgrades included) on to the API, as the one proxy in front of a deployment does.
const apiUrl = process.env.API_URL ?? "http://127.0.0.1:8000";
const proxy = { "/graphql": { target: apiUrl, ws: true } };

export default defineConfig({
  plugins: [react()],
  server: { host: "127.0.0.1", proxy },
  preview: { host: "127.0.0.1", proxy },
});
