#!/usr/bin/env bash
# The page's browser tests, in Debian's headless Chromium (installed if absent),
# on web/dist as web/build.sh made it. RICCI_CLI: the command line to compare
# with (target/debug/ricci by default); RICCI_SCREENSHOT: where to save the
# page's screenshot.
set -euo pipefail
# The command line, as an absolute path (it is given relative to the caller).
export RICCI_CLI=$(realpath "${RICCI_CLI:-$(dirname "$0")/../target/debug/ricci}")
cd "$(dirname "$0")"
CHROMIUM_VERSION=156.0.8078.114-1~deb12u1
if ! [ -x /usr/bin/chromium ]; then
  echo "== web: installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "chromium=$CHROMIUM_VERSION" >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
node --test --test-concurrency=1 tests/
