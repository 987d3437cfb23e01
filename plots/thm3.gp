# thm3.gp: Theorem 3, second half: does K^h stay put under training only when both
# networks are wide?  (docs/theory.md §8.1-§8.2; docs/thm3.md)
#   1: heat map of the RMS ||dK/dt||_F / ||Theta^h||_F at t = 0 (log10), cells labelled
#   2: the term through g's curvature against n, one line per m (needs m -> infinity)
#   3: the term through f's second derivative against m, one line per n (vanishes as n grows
#      for any m: along m it has a floor)
#   4: the drift ||K_T - K_0||_F / ||K_0||_F over training against n, one line per m;
#      dashed: slope -1/2 (Lee et al. 2019 for MLPs), through the widest point of the widest m
#
# Reads the columns that Makefile.plots writes with `hyperntk export`:
#   data/dk_matrix.dat   --matrix f_widths g_widths dK
#   data/dkg_by_f.dat    f_widths dK_g dK_g_stderr                 (rows: n)
#   data/dkf_by_g.dat    g_widths dK_f dK_f_stderr --transpose     (rows: m)
#   data/drift_by_f.dat  f_widths drift drift_stderr               (rows: n; absent without --steps)
#   data/meta.dat        "name value" lines: samples, f_depth, g_depth, train, steps
#
# Usage: gnuplot -e "data='DIR'; out='thm3.png'" plots/thm3.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/thm3'
if (!exists("out")) out = 'plots/thm3.png'

pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 18in,5.2in font ',10' enhanced
} else {
    set terminal pngcairo size 2200,640 font ',11' enhanced
}
set output out

rows(file) = system(sprintf("awk '!/^#/ {printf \"%%s \", $1}' '%s'", file))
fw = rows(data.'/dkg_by_f.dat')
gw = rows(data.'/dkf_by_g.dat')
A = words(fw)
G = words(gw)
meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))
samples = meta('samples')
L = meta('f_depth')
H = meta('g_depth')
B = meta('train')
steps = meta('steps')
has_drift = system(sprintf("test -s '%s/drift_by_f.dat' && echo 1 || echo 0", data)) + 0

set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
frac(i, count) = count > 1 ? (i - 1.0) / (count - 1.0) : 0.0

set multiplot title sprintf("Theorem 3: dK^h/dt at initialization and the drift of K^h over %s GD steps; %s initializations, %s training inputs, L = %s, H = %s", steps, samples, B, L, H) font ',13'

set size 0.25, 0.92
set origin 0.0, 0.0
set title "RMS ||dK/dt||_F / ||Θ^h||_F at t = 0"
set xlabel 'width m of g'
set ylabel 'width n of f'
set xtics () font ',9'
set ytics () font ',9'
do for [j = 1:G] { set xtics add (word(gw, j) log10(real(word(gw, j)))) }
do for [i = 1:A] { set ytics add (word(fw, i) log10(real(word(fw, i)))) }
set cblabel 'log_{10}' offset -1
set format cb '%.1f'
set autoscale fix
set tics out nomirror
unset key
stats data.'/dk_matrix.dat' nonuniform matrix using (log10($3)) nooutput
mid = (STATS_min + STATS_max) / 2
plot data.'/dk_matrix.dat' nonuniform matrix using (log10($1)):(log10($2)):(log10($3)) with image, \
     '' nonuniform matrix using (log10($1)):(log10($2)):(sprintf('%.2g', $3)):(log10($3) > mid ? 0x000000 : 0xffffff) \
         with labels font ',8' textcolor rgb variable
unset colorbox

set logscale xy
set format x '%g'
set format y '10^{%L}'
set xtics auto font ',10'
set ytics auto font ',10'
set autoscale y
set bars small

set origin 0.25, 0.0
set title "term through g's curvature, against n"
set xlabel 'width n of f'
set ylabel "RMS ||dK_g/dt||_F / ||Θ^h||_F"
set key top right font ',8' title 'width m of g' spacing 0.9
set xrange [real(word(fw, 1)) / 1.3 : real(word(fw, A)) * 1.3]
plot for [j = 1:G] data.'/dkg_by_f.dat' using 1:(column(1 + j)):(column(1 + G + j)) \
         with yerrorlines linecolor palette frac frac(j, G) pointtype 7 pointsize 0.5 title word(gw, j)

set origin 0.5, 0.0
set title "term through f's second derivative, against m"
set xlabel 'width m of g'
set ylabel "RMS ||dK_f/dt||_F / ||Θ^h||_F"
set key title 'width n of f'
set xrange [real(word(gw, 1)) / 1.3 : real(word(gw, G)) * 1.3]
plot for [i = 1:A] data.'/dkf_by_g.dat' using 1:(column(1 + i)):(column(1 + A + i)) \
         with yerrorlines linecolor palette frac frac(i, A) pointtype 7 pointsize 0.5 title word(fw, i)

set origin 0.75, 0.0
if (has_drift) {
    set title "drift ||K_T - K_0||_F / ||K_0||_F (dashed: n^{-1/2})"
    set xlabel 'width n of f'
    set ylabel 'mean relative drift'
    set key title 'width m of g'
    set xrange [real(word(fw, 1)) / 1.3 : real(word(fw, A)) * 1.3]
    last = system(sprintf("awk '!/^#/ {v = $%d} END {print v}' '%s/drift_by_f.dat'", 1 + G, data)) + 0.0
    nmax = real(word(fw, A))
    plot for [j = 1:G] data.'/drift_by_f.dat' using 1:(column(1 + j)):(column(1 + G + j)) \
             with yerrorlines linecolor palette frac frac(j, G) pointtype 7 pointsize 0.5 title word(gw, j), \
         last * sqrt(nmax / x) with lines dashtype 2 linecolor rgb '#888888' notitle
} else {
    set title 'no training in this run (--steps 0)'
    unset key
    plot 1 notitle
}
unset multiplot
