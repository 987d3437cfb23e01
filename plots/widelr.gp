# widelr.gp: wide one-hidden-layer networks trained with lr = c n^p (the appendix's section 2.2,
# Figure 2; README "Wide networks"; docs/theory.md §8.5).  Columns: the ntk, standard and
# mean-field parametrizations; rows: test accuracy and mean test loss (log scale) per epoch
# (0: at initialization), mean over the runs; one colour per width n, solid lr = c sqrt(n)
# (p = 0.5), dashed lr = c n (p = 1).
# Reads what Makefile.plots writes with `hyperntk export`:
#   data/widths.dat                        widths
#   data/PARAM_TAG_acc.dat, _loss.dat      epochs /figure/PARAM/TAG/test_accuracy (test_loss);
#                                          empty when the file has no such group
#   data/meta.dat                          "name value": train_images, test_images, batch, runs, lr_scales
# Usage: gnuplot -e "data='DIR'; out='widelr.png'" plots/widelr.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/widelr'
if (!exists("out")) out = 'plots/widelr.png'
pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 15in,8in font ',10' enhanced
} else {
    set terminal pngcairo size 1800,950 font ',11' enhanced
}
set output out
widths = system(sprintf("awk '!/^#/ {printf \"%%s \", $1}' '%s/widths.dat'", data))
W = words(widths)
meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))
nonempty(f) = system(sprintf("test -s '%s' && echo 1 || echo 0", f)) + 0
params = "ntk standard meanfield"
ptitle(i) = i == 1 ? "NTK parametrization" : (i == 2 ? "standard parametrization" : "mean-field parametrization")
set multiplot layout 2,3 title sprintf("one hidden layer of width n, 10 outputs, cross-entropy, SGD (batch %s), %s training / %s test images of Fashion-MNIST, %s run(s); lr = %s n^p (rate of the mean loss): solid p = 1/2, dashed p = 1", meta('batch'), meta('train_images'), meta('test_images'), meta('runs'), meta('lr_scales'))
set grid
set key bottom right
set xlabel "epoch"
set xtics 1
do for [row = 1:2] {
    do for [i = 1:3] {
        p = word(params, i)
        fa = sprintf("%s/%s_p0.5_%s.dat", data, p, row == 1 ? "acc" : "loss")
        fb = sprintf("%s/%s_p1_%s.dat", data, p, row == 1 ? "acc" : "loss")
        set title ptitle(i)
        if (row == 1) { unset logscale y; set yrange [0:1]; set ylabel "test accuracy"; set key bottom right } else {
            set logscale y; set yrange [*:*]; set ylabel "mean test loss (nats)"; set key top right }
        if (nonempty(fa) && nonempty(fb)) {
            plot for [w = 1:W] fa using 1:(column(w + 1)) with linespoints lw 2 pt 7 lc w title sprintf("n = %s", word(widths, w)), \
                 for [w = 1:W] fb using 1:(column(w + 1)) with linespoints lw 2 pt 6 dt 2 lc w notitle
        } else { if (nonempty(fa)) {
            plot for [w = 1:W] fa using 1:(column(w + 1)) with linespoints lw 2 pt 7 lc w title sprintf("n = %s", word(widths, w))
        } else {
            set label 1 "not run" at graph 0.5, graph 0.5 center
            plot NaN notitle
            unset label 1
        } }
    }
}
unset multiplot
