#!/bin/sh
# Write MANIFEST.sha256 for a model directory, in the sha256sum format the model_weights role checks:
#   scripts/make-weights-manifest.sh MODEL_DIR [OUTPUT]
# OUTPUT defaults to MODEL_DIR/MANIFEST.sha256. Run it on a copy you trust (the one the mirror serves, or a
# fresh download checked against the hub); every other copy is then verified against it.
# Paths are relative to MODEL_DIR and sorted bytewise, so the same tree gives the same file on every machine.
# Dot-files and dot-directories (download-tool state, partial downloads) and the manifest itself are left out.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
    echo "usage: $0 MODEL_DIR [OUTPUT]  (MODEL_DIR must be a directory)" >&2
    exit 2
fi
dir=$1
out=${2:-$dir/MANIFEST.sha256}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
tmp=$(mktemp "$(dirname "$out")/.manifest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cd "$dir"
find . \( -name '.?*' -prune \) -o -type f ! -path ./MANIFEST.sha256 -printf '%P\0' \
    | LC_ALL=C sort -z | xargs -0 -r sha256sum -- > "$tmp"
if [ ! -s "$tmp" ]; then
    echo "$0: no files in $dir" >&2
    exit 1
fi
chmod 0644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out ($(wc -l < "$out") files)"
