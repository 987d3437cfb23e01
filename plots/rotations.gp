# rotations.gp: the rotation-prediction sensitivity study (appendix 2.1, its Figure 1;
# docs/rotations.md; README "Rotation prediction").
#   top row:    test accuracy after the last epoch against the learning rate mu (of the
#               minibatch mean loss), one panel per depth of g, one line per width of g,
#               error bars: standard deviation over runs (diverged runs at chance, dotted line)
#   bottom row: test accuracy against the epoch, same panels and lines, at the rate with the
#               best final accuracy of that depth
# Reads what Makefile.plots writes with `hyperntk export`:
#   data/by_lr.dat     /figure/by_lr    (depth, width, mu, mean, sd, se, diverged)
#   data/by_epoch.dat  /figure/by_epoch (depth, width, mu, epoch, mean, sd, diverged)
#   data/meta.dat      "name value": parametrization, runs, epochs, ...
# Usage: gnuplot -e "data='DIR'; out='rotations.png'" plots/rotations.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/rotations'
if (!exists("out")) out = 'plots/rotations.png'
pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 15in,8in font ',10' enhanced
} else {
    set terminal pngcairo size 1800,960 font ',11' enhanced
}
set output out

meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))
lr = data.'/by_lr.dat'
ep = data.'/by_epoch.dat'
depths = system(sprintf("awk '!($1 in s) {s[$1]; printf \"%%s \", $1}' '%s'", lr))
widths = system(sprintf("awk '!($2 in s) {s[$2]; printf \"%%s \", $2}' '%s'", lr))
ND = words(depths)
NW = words(widths)
chance = real(meta('chance'))
# the rate with the best final accuracy at depth H
best_lr(H) = real(system(sprintf("awk '$1 == %s && (b == \"\" || $4 > b) {b = $4; m = $3} END {print m}' '%s'", H, lr)))

set multiplot layout 2, ND title sprintf("Rotation prediction: f depth %s width %s, %s parametrization, no biases; %s runs, %s epochs, %s training / %s test images, batch %s", meta('f_depth'), meta('f_width'), meta('parametrization'), meta('runs'), meta('epochs'), meta('train_images'), meta('test_images'), meta('batch')) font ',13'
set grid
set key top left
set yrange [0:*]
do for [i = 1:ND] {
    H = word(depths, i)
    set title sprintf("g depth %s", H)
    set logscale x
    set format x '10^{%L}'
    set xlabel 'learning rate μ (of the minibatch mean loss)'
    set ylabel 'test accuracy after the last epoch'
    plot for [j = 1:NW] lr using (($1 == H && $2 == word(widths, j)) ? $3 : NaN):4:5 with yerrorlines lw 2 pt 7 \
             title sprintf("g width %s", word(widths, j)), \
         chance with lines dt 3 lc 'gray' title 'chance'
}
do for [i = 1:ND] {
    H = word(depths, i)
    m = best_lr(H)
    set title sprintf("g depth %s, μ = %.0e (best final accuracy)", H, m)
    unset logscale x
    set format x '%g'
    set xlabel 'epoch'
    set ylabel 'test accuracy'
    plot for [j = 1:NW] ep using (($1 == H && $2 == word(widths, j) && abs($3 / m - 1) < 1e-9) ? $4 : NaN):5:6 \
             with yerrorlines lw 2 pt 7 title sprintf("g width %s", word(widths, j)), \
         chance with lines dt 3 lc 'gray' title 'chance'
}
unset multiplot
