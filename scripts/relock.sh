#!/usr/bin/env bash
# Regenerates package-lock.json from the package.json files alone, in a scratch folder with no
# node_modules. npm drops other platforms' optional packages from the lockfile when it updates it
# beside an existing node_modules (npm/cli#4828), and `npm ci` then fails on a fresh machine with
# "Missing: ... from lock file". Run this after changing dependencies, then `npm install`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$root"
cp package.json .npmrc "$scratch/"
for ws in $(node -p 'require("./package.json").workspaces.join(" ")'); do
  mkdir -p "$scratch/$ws"
  cp "$ws/package.json" "$scratch/$ws/"
  if [ -d "$ws/bin" ]; then cp -r "$ws/bin" "$scratch/$ws/"; fi
done
(cd "$scratch" && npm install --package-lock-only --no-audit --no-fund >/dev/null && npm ci --dry-run >/dev/null)
cp "$scratch/package-lock.json" "$root/package-lock.json"
echo "package-lock.json regenerated; npm ci --dry-run accepts it"
