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

# ---- outputs that must not be replaced ----
mkfifo fifo.h5
expect_error "--out a FIFO" 1 "result file 'fifo.h5' exists and is a FIFO: refusing to replace it" -- \
  "$bin" inputs --count 3 --out fifo.h5
[ -p fifo.h5 ] && no_temporaries && ok || bad "the FIFO was replaced: $(ls -l fifo.h5)"
mkdir outdir.h5
expect_error "--out a directory" 1 "'outdir.h5' exists and is a directory" -- "$bin" inputs --count 3 --out outdir.h5
if [ "$(id -u)" = 0 ] && mknod null c 1 3 2> /dev/null; then
  # A private device node of /dev/null: replacing it would harm nothing, refusing it is what is checked.
  expect_error "--out a character device" 1 "'null' exists and is a character device" -- \
    "$bin" kernel --inputs in.h5 --out null --f-width 20 --g-width 5 --samples 4
  [ -c null ] && ok || bad "the device node was replaced: $(ls -l null)"
else
  echo "skipped: the character-device case needs root (mknod); the FIFO and directory cases ran"
fi
cp in.h5 in_copy.h5
expect_error "--out is --inputs (./ spelling)" 2 "--out: './in_copy.h5' is the --inputs file 'in_copy.h5'" -- \
  "$bin" kernel --inputs in_copy.h5 --out ./in_copy.h5 --f-width 20 --g-width 5 --samples 4
cmp -s in.h5 in_copy.h5 && ok || bad "--out = --inputs replaced the inputs"
expect_error "--dump-weights is --out (./ spelling)" 2 "--dump-weights: './k.h5' is also the --out file 'k.h5'" -- \
  "$bin" kernel --inputs in.h5 --out k.h5 --dump-weights ./k.h5 --f-width 20 --g-width 5 --samples 4
[ ! -e k.h5 ] && ok || bad "k.h5 written"

# ---- option values ----
expect_error "--seed 0x10" 2 "--seed: '0x10' is not a decimal integer in range" -- "$bin" inputs --count 3 --seed 0x10 --out s.h5
"$bin" inputs --count 3 --seed 010 --out s010.h5 > /dev/null && "$bin" inputs --count 3 --seed 10 --out s10.h5 > /dev/null &&
  "$bin" compare s010.h5 s10.h5 > /dev/null && ok || bad "--seed 010 is not ten"
expect_error "--configs overflow" 2 "--configs: 'L99999999999_H1': L = 99999999999 must be in 2\.\.32" -- \
  "$bin" thm1 --configs L99999999999_H1 --out t.h5
t=("$bin" thm1 --configs L2_H1 --widths 8,16 --samples 20 --samples-l2 20 --bootstrap 100 --fit-widths 2 --orders 3)
expect_error "--export-dir in a missing directory" 1 "--export-dir: cannot create 'nodir/plots': the directory 'nodir' does not exist" -- \
  "${t[@]}" --out e.h5 --export-dir nodir/plots
[ ! -e e.h5 ] && [ ! -e e.h5.ckpt ] && ok || bad "the run went ahead before checking --export-dir: $(ls)"
expect_error "--stop-after-cells 0" 3 "stopped before the first of the 4 cells as asked .*no checkpoint written" -- \
  "$bin" fig1a --out z.h5 --f-widths 10,20 --g-widths 5,6 --samples 4 --stop-after-cells 0
[ ! -e z.h5.ckpt ] && ok || bad "--stop-after-cells 0 wrote a checkpoint"

# ---- memory budgets count everything ----
expect_error "thm1 budget: the bootstrap" 2 "analysis after the last cell .*bootstrap.* over the memory budget of 0\.1 GiB" -- \
  "${t[@]}" --orders 8 --bootstrap 1000000 --mem-budget 0.1 --out tb.h5
[ ! -e tb.h5.ckpt ] && ok || bad "thm1 computed cells before refusing the budget"
# 800 inputs: the workspaces (0.04 GiB) fit 0.1 GiB, the 3 x 800^2 statistics and the result file do not
"$bin" inputs --count 800 --out in800.h5 > /dev/null 2>&1 && ok || bad "inputs 800"
expect_error "kernel budget: the B x B statistics" 2 "statistics of the 800 x 800 pairs .*over the memory budget of 0\.1 GiB" -- \
  "$bin" kernel --inputs in800.h5 --out kb.h5 --f-width 10 --g-width 5 --samples 4 --mem-budget 0.1
[ ! -e kb.h5 ] && ok || bad "kernel ran over its budget"
rm -f in800.h5 kb.h5

# ---- SIGHUP is handled like SIGTERM: stop at the next block, keep the checkpoint, resume identically ----
s=(thm1 --configs L2_H1,L3_H2 --widths 16,2048 --samples 200 --samples-l2 40 --bootstrap 100 --fit-widths 2 --orders 3
   --out s.h5)
mkdir ref hup
(cd ref && "$bin" "${s[@]}" > /dev/null 2>&1) && ok || bad "SIGHUP reference run"
(cd hup && exec "$bin" "${s[@]}" > /dev/null 2> ../hup.err) &
pid=$!
for _ in $(seq 400); do [ -e hup/s.h5.ckpt ] && break; sleep 0.025; done
kill -HUP $pid
wait $pid
code=$?
[ $code -eq 129 ] && grep -q "interrupted by signal 1 after .* of 4 cells" hup.err && ok ||
  bad "SIGHUP: exit $code (want 129 after 'interrupted by signal 1'): $(cat hup.err)"
[ -e hup/s.h5.ckpt ] && [ ! -e hup/s.h5 ] && no_temporaries hup && ok || bad "SIGHUP left: $(ls hup)"
(cd hup && "$bin" "${s[@]}" > /dev/null 2> ../hup.err) && grep -q "resuming from s.h5.ckpt" hup.err && ok ||
  bad "resume after SIGHUP: $(cat hup.err)"
"$bin" compare ref/s.h5 hup/s.h5 > cmp.txt 2>&1 && ok || bad "resumed after SIGHUP differs: $(cat cmp.txt)"

# ---- damaged checkpoints ----
f=("$bin" fig1a --out c.h5 --f-widths 10,20 --g-widths 5,6 --samples 4)
"${f[@]}" > /dev/null 2>&1 && mv c.h5 cref.h5 && ok || bad "fig1a reference"
echo "not hdf5" > c.h5.ckpt
expect_error "a text file as the checkpoint" 1 "checkpoint 'c.h5.ckpt' is damaged or not a hyperntk checkpoint: .*not an HDF5 file; pass --restart" -- "${f[@]}"
rm -f c.h5.ckpt
find_python h5py,numpy
if [ -z "$python" ]; then
  echo "skipped: no python3 imports h5py and numpy: damaged checkpoint cells, huge inputs and corrupt chunks NOT checked"
else
  "${f[@]}" --stop-after-cells 3 > /dev/null 2>&1
  [ $? -eq 3 ] && ok || bad "fig1a --stop-after-cells 3"
  # a flipped byte in cell 0's values, and cell 3 marked done without its values
  "$python" - << 'PY' || bad "h5py could not damage the checkpoint"
import h5py, numpy as np
with h5py.File("c.h5.ckpt", "r+") as f:
    v = f["values"][...]
    b = v.view(np.uint8).reshape(v.shape[0], -1)
    b[0, 5] ^= 0x10
    f["values"][...] = v
    d = f["done"][...]
    d[3] = 1.0
    f["done"][...] = d
PY
  "${f[@]}" > /dev/null 2> c.err && ok || bad "run on the damaged checkpoint: $(cat c.err)"
  grep -q "c.h5.ckpt: cell 1/4 (n = 10, m = 5) fails its checksum (the file is damaged): computing it again" c.err &&
    grep -q "cell 4/4 (n = 20, m = 6) fails its checksum" c.err && ok || bad "damaged cells not named: $(cat c.err)"
  "$bin" compare cref.h5 c.h5 > cmp.txt 2>&1 && ok || bad "result from a damaged checkpoint differs: $(cat cmp.txt)"

  # huge finite inputs: refused, naming the pair and the accepted range, nothing written
  "$python" - << 'PY' || bad "h5py could not write the huge inputs"
import h5py, numpy as np
for e in (150, 300):
    with h5py.File("huge%d.h5" % e, "w") as f:
        f["x"] = np.array([[10.0 ** e, 0, 0], [0, 1.0, 0]])
        f["z"] = np.array([[1.0, 0, 0], [0, 1.0, 0]])
PY
  for e in 150 300; do
    expect_error "inputs of 1e$e" 2 "input pair \(0, 0\) \(\|x_0\| = 1e\+$e.*Theta\^h = (inf|nan) is outside the accepted range \|Theta\^h\| <= 1e150" -- \
      "$bin" kernel --inputs huge$e.h5 --out kh.h5 --f-width 10 --g-width 5 --samples 4
    [ ! -e kh.h5 ] && ok || bad "a result was written for inputs of 1e$e"
  done

  # compare: corrupt chunks and a huge never-written dataset are errors (2), never "same" or "different"
  "$python" - << 'PY' || bad "h5py could not write the corrupt files"
import h5py, numpy as np
for name in ("huge_a.h5", "huge_b.h5"):
    with h5py.File(name, "w") as f:
        f.create_dataset("x", shape=(2 ** 40,), chunks=(1024,), dtype="f8")
for name, seed in (("ca.h5", 1), ("cb.h5", 2)):
    with h5py.File(name, "w") as f:
        f.create_dataset("x", data=np.random.default_rng(seed).normal(size=4096), chunks=(1024,), compression="gzip")
    with h5py.File(name, "r") as f:
        chunks = [f["x"].id.get_chunk_info(i) for i in range(4)]
    with open(name, "r+b") as fp:
        for c in chunks:
            fp.seek(c.byte_offset)
            fp.write(b"\xff" * min(c.size, 64))
PY
  "$bin" compare huge_a.h5 huge_b.h5 > out.txt 2> err.txt
  code=$?
  [ $code -eq 2 ] && grep -q "/x: 1099511627776 values of 8 bytes .* more than compare holds" err.txt && ok ||
    bad "compare of a huge never-written dataset: exit $code: $(cat out.txt err.txt)"
  for pair in "ca.h5 cb.h5" "ca.h5 ca.h5"; do
    "$bin" compare $pair > out.txt 2> err.txt
    code=$?
    [ $code -eq 2 ] && grep -q "/x: its values cannot be read from the first file" err.txt && ok ||
      bad "compare $pair with corrupt chunks: exit $code (want 2): $(cat out.txt err.txt)"
  done
fi

summary
