# thm1.gp: Theorem 1 figure: median |K^(r)| against the width n of f, log-log, one
# panel per configuration, one colour per order r; the dashed line of the same
# colour is the predicted slope min(0, H - r) drawn through the widest width.
# Orders with K^(r) = 0 exactly (r > L*H) are absent (their columns are NaN).
#
# Reads the columns written by `hyperntk thm1 --export-dir DIR` (or
# `hyperntk thm1 --from RESULT.h5 --export-dir DIR`):
#   DIR/index.dat    name L H orders mlp, one configuration per line
#   DIR/<name>.dat   n, then per r: median, 95% CI low, high, predicted line
#
# Usage: gnuplot -e "dir='results/thm1'; out='results/thm1.png'" plots/thm1.gp

if (!exists("dir")) dir = 'results/thm1'
if (!exists("out")) out = 'results/thm1.png'

index = dir.'/index.dat'
names = system("awk '!/^#/ {print $1}' ".index)
count = words(names)
if (count == 0) { print "thm1.gp: no configuration in ".index; exit status 1 }

cols = (count >= 3) ? 3 : count
rows = int((count + cols - 1) / cols)
set terminal pngcairo size 480 * cols, 400 * rows font ',10'
set output out

set logscale xy
set format y '10^{%L}'
set xlabel 'width n of f'
set ylabel 'median |K^{(r)}|'
set key bottom left font ',8' spacing 0.9
set grid
set bars small
# one readable colour per order r = 1..8
set linetype 1 lc rgb '#6a0dad'
set linetype 2 lc rgb '#009e73'
set linetype 3 lc rgb '#56b4e9'
set linetype 4 lc rgb '#e69f00'
set linetype 5 lc rgb '#b8860b'
set linetype 6 lc rgb '#0072b2'
set linetype 7 lc rgb '#d55e00'
set linetype 8 lc rgb '#cc79a7'

field(name, k) = system(sprintf("awk '$1 == \"%s\" {print $%d}' %s", name, k, index))

set multiplot layout rows, cols title 'Theorem 1: median |K^{(r)}| against n; dashed: predicted slope min(0, H-r); bars: bootstrap 95%'
do for [c = 1:count] {
    name = word(names, c)
    L = int(field(name, 2))
    H = int(field(name, 3))
    R = int(field(name, 4))
    mlp = int(field(name, 5))
    file = dir.'/'.name.'.dat'
    if (mlp) { set title sprintf('%s: plain MLP, L = %d (Lemma 3)', name, L) noenhanced } else { set title sprintf('%s: L = %d, H = %d', name, L, H) noenhanced }
    plot for [r = 1:R] file using 1:(column(4*r - 2)):(column(4*r - 1)):(column(4*r)) \
             with yerrorlines linecolor r pointtype 7 pointsize 0.6 title sprintf('r = %d', r), \
         for [r = 1:R] file using 1:(column(4*r + 1)) with lines linecolor r dashtype 2 notitle
}
unset multiplot
