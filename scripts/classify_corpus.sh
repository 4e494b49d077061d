#!/usr/bin/env bash
# Builds a labelled plain-text corpus from the Debian man pages, for measuring `auto`
# classification (crates/docket-classify/examples/auto_accuracy.rs):
#
#   scripts/classify_corpus.sh OUT_DIR      ->  OUT_DIR/<section>/<page>.txt
#
# Labels are man sections: 1 (commands), 2 (system calls), 3 (library functions),
# 4 (devices), 5 (file formats), 7 (overviews), 8 (administration). Only pages shipped by the
# packages below are used, so the corpus is the same on every machine with the same package
# versions. Alias pages (`.so` redirects) and symlinks are skipped so no page appears twice, and
# the title and footer lines are cut because they spell the section out ("open(2)").
source "$(dirname "$0")/lib.sh"

OUT=${1:?usage: scripts/classify_corpus.sh OUT_DIR}
PAGE_PACKAGES=(manpages manpages-dev coreutils util-linux procps iproute2 e2fsprogs)
apt_install man-db groff-base bsdextrautils "${PAGE_PACKAGES[@]}"

mkdir -p "$OUT"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
dpkg-query -L "${PAGE_PACKAGES[@]}" | grep -E '^/usr/share/man/man[1-578]/[^/]+$' | sort -u |
    while read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\n' "$f"; fi; done >"$list"
[ -s "$list" ] || die "no man pages found: is /usr/share/man excluded by dpkg (path-exclude)?"

# render FILE OUT_DIR: one page to OUT_DIR/<section>/<name>.txt
render() {
    local f=$1 out=$2 base sec
    base=$(basename "$f" .gz)
    sec=$(basename "$(dirname "$f")")
    sec=${sec#man}
    # An alias page is a `.so other.page` line and little else.
    if [ "$(zcat -f "$f" | grep -cv '^\.\\"')" -lt 4 ] && zcat -f "$f" | grep -q '^\.so '; then
        return 0
    fi
    mkdir -p "$out/$sec"
    MANWIDTH=80 man -l -Tutf8 "$f" 2>/dev/null | col -bx |
        awk 'NF { if (!seen) { seen = 1; next } } { lines[n++] = $0 }
             END { last = n - 1; while (last >= 0 && lines[last] !~ /[^ ]/) last--;
                   for (i = 0; i < last; i++) print lines[i] }' >"$out/$sec/$base.txt"
    [ -s "$out/$sec/$base.txt" ] || rm -f "$out/$sec/$base.txt"
}
export -f render

say "rendering $(wc -l <"$list") man pages into $OUT"
xargs -a "$list" -P "$(nproc)" -I{} bash -c 'render "$1" "$2"' _ {} "$OUT"
for d in "$OUT"/*/; do printf '%s %s\n' "$(basename "$d")" "$(find "$d" -name '*.txt' | wc -l)"; done
