#!/usr/bin/env bash
# Stages a build and the ../shared fixtures for a run on the GPU machine when they do not fit one call's 64 MiB carry
# beside .device/ (llama-s is 44 MB, moe-s 60 MB). The fixtures go into one xz stream cut into parts of ≤ 45 MiB that
# one `run` call carries alone (with the ~13 MiB tree); each call copies its part into /tmp/memc on the (still warm)
# machine, the call with the last part unpacks them, and the runs that follow work in /tmp/memc.
#
#   scripts/gpu-stage.sh build          → .gpu-main/ (dist without source maps, kernels, bin, scripts, golden subsets): carry with .device
#   scripts/gpu-stage.sh weights NAME.. → .gpuw-1/, .gpuw-2/, …: models NAME…, the held-out texts, calib/*.txt
# On the device:  call 1 (carry .device .gpu-main):  bash .device/enter.sh bash .gpu-main/unstage.sh
#                 call k (carry .gpuw-k):             bash .gpuw-k/unstage.sh
#                 then /tmp/memc holds dist/, kernels/, node_modules/, fixtures/ and shared/fixtures/.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
shared=$(cd ../shared && pwd)
PART_BYTES=${PART_BYTES:-47000000}
case "${1:-}" in
  build)
    rm -rf .gpu-main && mkdir -p .gpu-main
    cp -r dist kernels bin scripts package.json .gpu-main/ && find .gpu-main -name '*.map' -delete
    # the tiny models' golden logits cut to what fits (test/gpu/golden-subset.ts)
    node dist/test/gpu/golden-subset.js .gpu-main/.gpufx >/dev/null
    cat > .gpu-main/unstage.sh <<'EOS'
set -e
mkdir -p /tmp/memc && cp -r node_modules fixtures .gpu-main/dist .gpu-main/kernels .gpu-main/bin .gpu-main/scripts .gpu-main/package.json .gpu-main/.gpufx /tmp/memc/
echo "staged build in /tmp/memc"
EOS
    du -sh .gpu-main ;;
  weights)
    shift
    rm -rf .gpuw-* && stage=$(mktemp -d)
    mkdir -p "$stage/shared/fixtures/text/eval" "$stage/shared/fixtures/text/calib" "$stage/shared/fixtures/models"
    cp "$shared"/fixtures/text/eval/{english,code,math}-heldout.txt "$stage/shared/fixtures/text/eval/"
    cp "$shared"/fixtures/text/calib/*.txt "$stage/shared/fixtures/text/calib/"
    cp "$shared"/fixtures/reference.json "$stage/shared/fixtures/"
    for n in "$@"; do cp -r "$shared/fixtures/models/$n" "$stage/shared/fixtures/models/"; done
    # one xz stream of everything (bf16 weights shrink to ~73%), cut into pieces that each fit one call
    tar -C "$stage" -cf - shared | xz -T0 -2 | split -b "$PART_BYTES" -d -a 1 - "$stage/fixtures.tar.xz."
    n=0
    for p in "$stage"/fixtures.tar.xz.*; do
      n=$((n + 1)); mkdir -p ".gpuw-$n" && mv "$p" ".gpuw-$n/"
    done
    rm -rf "$stage"
    for d in .gpuw-*; do
      cat > "$d/unstage.sh" <<EOS
set -e
mkdir -p /tmp/memc/pieces && cp "\$(dirname "\$0")"/fixtures.tar.xz.* /tmp/memc/pieces/
# all $n pieces there: unpack them into /tmp/memc/shared
if [ "\$(ls /tmp/memc/pieces | wc -l)" = $n ]; then cat /tmp/memc/pieces/fixtures.tar.xz.* | xz -dc | tar -C /tmp/memc -xf - && find /tmp/memc/shared -type f | xargs ls -l; else echo "piece staged; \$(ls /tmp/memc/pieces | wc -l) of $n there"; fi
EOS
      echo "$d: $(du -sh "$d" | cut -f1)"
    done ;;
  *) echo "usage: scripts/gpu-stage.sh build | weights NAME…" >&2; exit 2 ;;
esac
