#!/bin/bash
# Trains the six demo masks one after the other and releases each.
cd "$(dirname "$0")/../.."  # the repository root
export XDG_RUNTIME_DIR=/tmp
for t in ${TASKS:-asr gender beeps tone asr_gender gender_asr}; do
  echo "=== $t $(date +%T)"
  rm -rf runs/masks/$t
  node --import tsx src/cli/main.ts train -c checkpoints/demo/train_$t.yaml --no-valid --cache-dir runs/masks/speech_cache $EXTRA 2>&1 | grep -v Warning
  node --import tsx scripts/demo/release-mask.mts $t
done
echo "=== done $(date +%T)"
