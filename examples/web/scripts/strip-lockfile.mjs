// Deletes every `resolved` key from package-lock.json, so the repository names no package host,
// and `npm ci` finds each package by name and version, checked against its `integrity`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
for (const entry of Object.values(lock.packages ?? {})) delete entry.resolved;
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
