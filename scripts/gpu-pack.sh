#!/usr/bin/env bash
# Packs .device/ for a run on the GPU machine (../shared/device/pack.sh: Node.js, node_modules, Vulkan loader),
# then re-packs node_modules without what a GPU run never loads (the TypeScript compiler, type declarations,
# source maps, docs) and without dist/: each run carries its own build. That leaves ~15 MiB of the 64 MiB a run
# may carry for a build and fixtures.   Usage: scripts/gpu-pack.sh [--with ../shared/fixtures/NAME ...]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
../shared/device/pack.sh "$@" >/dev/null
tar --exclude='node_modules/*/bin/napi-v*/win32' --exclude='node_modules/*/bin/napi-v*/darwin' \
    --exclude='node_modules/*/bin/napi-v*/linux/arm64' --exclude='node_modules/@koromix/koffi-linux-arm*' \
    --exclude='node_modules/@koromix/koffi-linux-ia32' --exclude='node_modules/@koromix/koffi-linux-riscv64' \
    --exclude='node_modules/@koromix/koffi-[dfow]*' --exclude='node_modules/.cache' \
    --exclude='node_modules/typescript' --exclude='node_modules/@types' --exclude='node_modules/csstype' \
    --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' \
    -cf - node_modules | xz -T0 -6 > .device/deps.tar.xz
dev=$(du -sk .device | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | du -ck --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "packed .device/: $((dev / 1024)) MiB; with the working tree (~$((tree / 1024)) MiB) $(((65536 - dev - tree) / 1024)) MiB of the 64 MiB carry are left"
