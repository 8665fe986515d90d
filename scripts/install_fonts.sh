#!/usr/bin/env bash
# Install the handwriting fonts that `inkreader synth` renders with (see docs/synth.md):
#   - Debian packages fonts-* (system-wide, with apt-get; needs root or sudo),
#   - npm @fontsource/<family> packages into the project's .fonts folder (gitignored).
# Idempotent and fast when everything is already there (no network then).
# Usage: scripts/install_fonts.sh [FONTS_DIR]   (default: <project>/.fonts)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FONTS_DIR="${1:-$ROOT/.fonts}"

# Debian handwriting fonts covering the GNHK charset (ecolier-court, havana and rufscript lack
# one or two symbols, which synth avoids in the texts rendered with them).
DEBIAN_FONTS=(fonts-breip fonts-comic-neue fonts-dancingscript fonts-dkg-handwriting
  fonts-kaushanscript fonts-kristi fonts-sjfonts fonts-ecolier-court fonts-havana fonts-rufscript)

# @fontsource handwriting families, pinned so a seed renders the same lines everywhere.
NPM_VERSION=5.3.0
NPM_FONTS=(alex-brush allura annie-use-your-telescope architects-daughter bad-script birthstone
  caveat caveat-brush cedarville-cursive chilanka comic-neue cookie corinthia courgette
  covered-by-your-grace damion dancing-script delicious-handrawn delius ephesis gaegu
  gloria-hallelujah gochi-hand great-vibes handlee herr-von-muellerhoff homemade-apple
  indie-flower italianno itim kalam kaushan-script licorice mansalva marck-script
  monsieur-la-doulaise mr-de-haviland ms-madi nanum-pen-script neucha oooh-baby parisienne
  patrick-hand permanent-marker pinyon-script playpen-sans reenie-beanie rochester rock-salt
  sacramento satisfy schoolbell shadows-into-light short-stack sriracha sue-ellen-francisco
  swanky-and-moo-moo tangerine twinkle-star whisper yellowtail yomogi zen-kurenaido
  grand-hotel nanum-brush-script pacifico poor-story the-girl-next-door vibur)
NPM_PINNED=(freehand@5.2.8 condiment@4.5.1)  # no 5.3.0 release of these families
# Google-Fonts handwriting families the registry has only as @expo-google-fonts/<family> (ttf)
EXPO_FONTS=(hurricane@0.2.2 la-belle-aurore@0.4.1 meow-script@0.4.1)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install_fonts: need root (or sudo) for: $*" >&2; return 1; fi
}

install_debian() {
  if ! command -v dpkg-query >/dev/null; then
    echo "install_fonts: no dpkg here, skipping the Debian fonts" >&2; return 0
  fi
  local missing=()
  for p in "${DEBIAN_FONTS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "install_fonts: apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_npm() {
  local specs=() name
  for f in "${NPM_FONTS[@]}"; do specs+=("$f@$NPM_VERSION"); done
  specs+=("${NPM_PINNED[@]}")
  local missing=()
  for s in "${specs[@]}"; do
    name="${s%@*}"
    [ -f "$FONTS_DIR/node_modules/@fontsource/$name/package.json" ] || missing+=("@fontsource/$s")
  done
  for s in "${EXPO_FONTS[@]}"; do
    name="${s%@*}"
    [ -f "$FONTS_DIR/node_modules/@expo-google-fonts/$name/package.json" ] ||
      missing+=("@expo-google-fonts/$s")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v npm >/dev/null; then
    echo "install_fonts: npm not found; cannot install ${#missing[@]} font families" >&2
    return 1
  fi
  echo "install_fonts: npm install ${#missing[@]} font families into $FONTS_DIR"
  mkdir -p "$FONTS_DIR"
  npm install --prefix "$FONTS_DIR" --no-audit --no-fund --loglevel=error "${missing[@]}"
}

install_debian
install_npm
echo "install_fonts: fonts ready (Debian: ${#DEBIAN_FONTS[@]} packages," \
  "npm: $((${#NPM_FONTS[@]} + ${#NPM_PINNED[@]} + ${#EXPO_FONTS[@]})) families in $FONTS_DIR)"
