#!/usr/bin/env bash
# Builds the web page into web/dist: ricci compiled to WebAssembly, the page,
# KaTeX. On a fresh machine of the project's kind (Debian 12, rustup, Node.js)
# it first installs what it needs, skipping what is present:
#   - Debian's rustc-web toolchain with its library source (rustup cannot add
#     the wasm32 target here; -Zbuild-std builds std from rust-web-src);
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate;
#   - the npm packages of package-lock.json (KaTeX, binaryen's wasm-opt).
# Serve web/dist with any static server, e.g. `python3 -m http.server -d web/dist`.
set -euo pipefail
cd "$(dirname "$0")"
web=$(pwd)
root=$(cd .. && pwd)

# The versions this was tested with.
DEBIAN_VERSION=1.96.0+dfsg1-1~deb12u2
LLD_VERSION=1:22.1.8-1~deb12u1
WASM_BINDGEN_VERSION=0.2.130

step() { printf '\n== web: %s\n' "$*"; }

# Installs each Debian package `name=version` that is not installed at that
# version. The security archive keeps only its newest version: if the pinned
# one is gone, the newest is installed, with a warning.
apt_pinned() {
  local missing=()
  for spec in "$@"; do
    local name=${spec%%=*} version=${spec#*=}
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$name" 2>/dev/null || true)" = "ii $version" ] ||
      missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "installing ${missing[*]}"
  apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "warning: the pinned versions are not available; installing the newest" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]%%=*}" >/dev/null
  fi
}
if [ "${1:-}" != "--no-install" ]; then
  apt_pinned rustc-web="$DEBIAN_VERSION" cargo-web="$DEBIAN_VERSION" rust-web-src="$DEBIAN_VERSION" \
    rust-web-llvm="$DEBIAN_VERSION" lld-22="$LLD_VERSION"
  if ! command -v npm >/dev/null 2>&1; then
    step "installing Node.js"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (several minutes)"
    # --locked fails on a yanked transitive version; the exact version is what matters.
    cargo install --quiet wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
  fi
  if ! (npm ls --omit=optional >/dev/null 2>&1); then
    step "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
export PATH="$HOME/.cargo/bin:$PATH"

# Debian's toolchain, called explicitly: rustup's cargo comes first on PATH.
step "cargo build (wasm32-unknown-unknown, Debian's rustc-web)"
(
  cd "$root"
  PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_DIR="$root/target/web" \
    /usr/bin/cargo build --locked --release -p ricci-web --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort
)

step "wasm-bindgen, wasm-opt"
rm -rf dist
mkdir -p dist/pkg dist/app dist/katex/fonts
wasm-bindgen --target web --no-typescript --out-dir dist/pkg \
  "$root/target/web/wasm32-unknown-unknown/release/ricci_web.wasm"
# binaryen from npm (Debian's older wasm-opt breaks wasm-bindgen's output).
node_modules/.bin/wasm-opt -O3 dist/pkg/ricci_web_bg.wasm -o dist/pkg/ricci_web_bg.opt.wasm
mv dist/pkg/ricci_web_bg.opt.wasm dist/pkg/ricci_web_bg.wasm

step "the page"
cp index.html dist/
cp app/*.js app/*.css dist/app/
node tools/examples.mjs "$root/examples" dist/app/examples.js
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css dist/katex/
cp node_modules/katex/dist/fonts/*.woff2 dist/katex/fonts/

wasm=dist/pkg/ricci_web_bg.wasm
printf 'web/dist built: wasm %s bytes, %s gzipped\n' "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
