#!/usr/bin/env bash
# Reliability (docs/reliability.md, issue 10): outputs that must not be replaced
# (devices, FIFOs, links, the inputs under another spelling), a full disk for every
# writer (a clean exit 1 with the reason, no temporary left, the checkpoint kept and
# resumable to the same file), SIGHUP handled like SIGTERM, decimal seeds, --configs
# overflow, --export-dir checked before the run, --stop-after-cells 0, corrupt
# checkpoints (detected per cell and recomputed, named), memory budgets that count
# everything, huge finite inputs refused instead of NaN results, and compare's exit
# codes on corrupt files.
# The full disk is a file size limit (ulimit -f with SIGXFSZ ignored: write() then
# fails with EFBIG exactly where ENOSPC would), so no root and no mount is needed.
# Usage: test_reliability.sh PATH/TO/hyperntk WORKDIR
here=$(cd "$(dirname "$0")" && pwd)
. "$here/harness.sh"
export OMP_NUM_THREADS=2

no_temporaries() { ! ls "${1:-.}" | grep -q '\.tmp\.'; }

# limited KB CMD...: run CMD with files limited to KB kilobytes (SIGXFSZ ignored).
limited() {
  local kb=$1
  shift
  (trap '' XFSZ; ulimit -f "$kb"; exec "$@")
}

# full_disk NAME OUT -- CMD...: CMD writes OUT (and, for the grid drivers, OUT.ckpt).
# A reference run gives OUT's size; then at 1/8, 1/4, 1/2 and 3/4 of it each run must
# exit 0 or 1 (never a crash), a failure must say "File too large" and leave neither
# OUT nor a temporary, and the same command without the limit must then finish
# (resuming from the checkpoint when one was kept) and write the reference file.
full_disk() {
  local name=$1 out=$2
  shift 3
  mkdir -p "fd_$name" && cd "fd_$name" || return
  "$@" > /dev/null 2> ref.err && mv "$out" ref.h5 || bad "$name: reference run: $(cat ref.err)"
  rm -f "$out.ckpt"
  local size failures=0 kb
  size=$(stat -c %s ref.h5)
  for part in 8 4 2 1.333; do
    kb=$(awk -v s="$size" -v p="$part" 'BEGIN { k = int(s / p / 1024); print k < 1 ? 1 : k }')
    rm -f "$out" "$out.ckpt"
    limited "$kb" "$@" > run.out 2> run.err
    local code=$?
    if [ $code -eq 0 ]; then ok; continue; fi
    failures=$((failures + 1))
    [ $code -eq 1 ] && grep -q "File too large" run.err && ok ||
      bad "$name at ${kb} KB: exit $code (want 1 with 'File too large'): $(cat run.err)"
    [ ! -e "$out" ] && no_temporaries && ok || bad "$name at ${kb} KB left: $(ls)"
    "$@" > /dev/null 2> rerun.err && ok || bad "$name: run after the full disk: $(cat rerun.err)"
    "$bin" compare ref.h5 "$out" > cmp.txt 2>&1 && ok || bad "$name: after the full disk: $(cat cmp.txt)"
    no_temporaries && ok || bad "$name: temporaries after the rerun: $(ls)"
  done
  [ $failures -gt 0 ] && ok || bad "$name: no limit made the write fail (result of $size bytes)"
  cd ..
}

# ---- a full disk, every writer ----
"$bin" inputs --count 6 --x-dim 3 --z-dim 3 --seed 3 --out in.h5 > /dev/null 2>&1 && ok || bad "inputs in.h5"
full_disk inputs big.h5 -- "$bin" inputs --count 3000 --x-dim 3 --z-dim 3 --out big.h5
full_disk kernel k.h5 -- "$bin" kernel --inputs ../in.h5 --out k.h5 --f-width 20 --g-width 5 --samples 20 --save-samples
full_disk dump d.h5 -- "$bin" kernel --inputs ../in.h5 --out k.h5 --f-width 20 --g-width 5 --samples 4 --dump-weights d.h5
full_disk fig1a a.h5 -- "$bin" fig1a --out a.h5 --f-widths 10,20 --g-widths 5,6 --samples 4
full_disk fig1b b.h5 -- "$bin" fig1b --out b.h5 --f-width 20 --g-widths 5,6 --thetas 5 --samples 4
full_disk thm1 t.h5 -- "$bin" thm1 --out t.h5 --configs L2_H1 --widths 8,16 --samples 200 --samples-l2 200 \
  --bootstrap 100 --fit-widths 2 --orders 3

summary
