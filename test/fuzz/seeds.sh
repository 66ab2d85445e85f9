#!/bin/bash
# Seeds for a fuzz target's corpus: seeds.sh TARGET DIR
set -e
t=$1 d=$2 i=0
seed() { i=$((i + 1)); printf '%s' "$1" > "$d/seed$i"; }
case $t in
fuzz_points)
    for s in 0 1 -1 12.5 -0.25 92233720368547758.07 -92233720368547758.08 1.001 ' 7 ' '' . 1e5 NaN; do seed "$s"; done ;;
fuzz_code)
    for s in ABCD-EFGH-JKMN-PQRS VIP-ABCD-EFGH-JKMN-PQRS abcd-efgh-jkmn-pqrs '' - 'ÄÖÜ-1234' 0000000000000000; do seed "$s"; done ;;
fuzz_template)
    for s in 'Hello {{name}}' '{{ points }} points at {{branch}}' '{{' '}}{{' '{{unknown}}' '{{ {{name}} }}' 'plain'; do seed "$s"; done ;;
esac
