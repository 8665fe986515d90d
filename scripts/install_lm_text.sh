#!/usr/bin/env bash
# Fetch the Debian text packages that `inkreader lm build deb:fortunes deb:gcide` reads (the
# English running text of the shipped character LM; docs/decoding.md) and unpack them into the
# project's .lmtext folder (gitignored): `apt-get download` + `dpkg -x`, so no root is needed
# and no dictionary server is installed. Only rebuilding the LM needs them, never reading.
# Idempotent: nothing is fetched when both are already unpacked (or installed system-wide).
# Usage: scripts/install_lm_text.sh [DIR]   (default: <project>/.lmtext; another DIR is read
# when INKREADER_LMTEXT=DIR is set)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/.lmtext}"
declare -A FILES=([fortunes-min]=usr/share/games/fortunes/literature
                  [fortunes]=usr/share/games/fortunes/wisdom
                  [dict-gcide]=usr/share/dictd/gcide.dict.dz)

for pkg in "${!FILES[@]}"; do
  file="${FILES[$pkg]}"
  if [ -e "/$file" ] || [ -e "$DEST/$file" ]; then
    echo "install_lm_text: $pkg already there"
    continue
  fi
  tmp="$(mktemp -d)"
  chmod 777 "$tmp"  # apt-get download fetches as the _apt user
  (cd "$tmp" && apt-get download "$pkg" >/dev/null)
  mkdir -p "$DEST"
  dpkg -x "$tmp"/"$pkg"_*.deb "$DEST"
  rm -rf "$tmp"
  echo "install_lm_text: $pkg unpacked into $DEST"
done
