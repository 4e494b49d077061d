# Shared by scripts/run.sh and scripts/test.sh: install what Docket needs on Debian.
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root (or sudo) to run: $*"; fi
}

# apt_install PKG...: installs the Debian packages that are missing.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_rust() {
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null; then
        say "installing Rust with rustup"
        apt_install curl ca-certificates
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt \
            || die "could not install Rust; install it from https://rustup.rs and run again"
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}

# System packages the build and the tests need.
ensure_system_packages() {
    apt_install build-essential pkg-config ca-certificates git man-db groff-base bsdextrautils manpages manpages-dev \
        libpoppler-glib-dev libcairo2-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng \
        poppler-utils groff img2pdf libtiff-tools webp
}
