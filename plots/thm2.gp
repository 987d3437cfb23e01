# thm2.gp: Theorem 2: is h Gaussian only when both networks are wide?
# (docs/theory.md §5.2, §8.3; docs/thm2.md)
#   left:   heat map of the energy distance of h(U) to N(0, Lambda^H(U,U)) over its null
#           level (1: at the noise level), each cell labelled with the ratio
#   middle: excess kurtosis of h(u)/sqrt(Lambda^H(u,u)) against the width n of f, one line
#           per width m of g (bootstrap standard errors); dashed: the exact kurtosis of the
#           finite network (finite.h), which levels off at 3 (1 + 5/m)^(H-1) - 3
#   right:  the same against the width m of g, one line per n
#
# Reads the columns that Makefile.plots writes with `hyperntk export`:
#   data/energy_matrix.dat  --matrix f_widths g_widths energy_ratio
#   data/kurt_by_f.dat      f_widths kurt_mean kurt_mean_stderr kurt_exact               (rows: n)
#   data/kurt_by_g.dat      g_widths kurt_mean kurt_mean_stderr kurt_exact --transpose   (rows: m)
#   data/meta.dat           "name value" lines: samples, f_depth, g_depth, inputs
#
# Usage: gnuplot -e "data='DIR'; out='thm2.png'" plots/thm2.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/thm2'
if (!exists("out")) out = 'plots/thm2.png'

pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 15in,5.2in font ',10' enhanced
} else {
    set terminal pngcairo size 1800,640 font ',11' enhanced
}
set output out

rows(file) = system(sprintf("awk '!/^#/ {printf \"%%s \", $1}' '%s'", file))
fw = rows(data.'/kurt_by_f.dat')
gw = rows(data.'/kurt_by_g.dat')
A = words(fw)
G = words(gw)
meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))
samples = meta('samples')
L = meta('f_depth')
H = meta('g_depth')
B = meta('inputs')

set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
frac(i, count) = count > 1 ? (i - 1.0) / (count - 1.0) : 0.0

set multiplot title sprintf("Theorem 2: Gaussianity of h(u) = g(z; f(x)) over %s initializations, %s inputs, f of depth L = %s, g of depth H = %s", samples, B, L, H) font ',13'

# ---- heat map of the energy distance over its null level ----
set size 0.36, 0.92
set origin 0.0, 0.0
set title "energy distance to N(0, Λ^H(U,U)) / null level"
set xlabel 'width n of f'
set ylabel 'width m of g'
set xtics () font ',9'
set ytics () font ',9'
do for [i = 1:A] { set xtics add (word(fw, i) log10(real(word(fw, i)))) }
do for [j = 1:G] { set ytics add (word(gw, j) log10(real(word(gw, j)))) }
set cblabel 'log_{10} ratio' offset -1
set format cb '%.1f'
set autoscale fix
set tics out nomirror
unset key
stats data.'/energy_matrix.dat' nonuniform matrix using (log10($3 > 0.01 ? $3 : 0.01)) nooutput
mid = (STATS_min + STATS_max) / 2
plot data.'/energy_matrix.dat' nonuniform matrix using (log10($2)):(log10($1)):(log10($3 > 0.01 ? $3 : 0.01)) with image, \
     '' nonuniform matrix using (log10($2)):(log10($1)):(sprintf('%.2g', $3)):(log10($3 > 0.01 ? $3 : 0.01) > mid ? 0x000000 : 0xffffff) \
         with labels font ',8' textcolor rgb variable
unset colorbox

# ---- kurtosis against the width of f ----
set size 0.32, 0.92
set origin 0.36, 0.0
set title 'excess kurtosis against n (dashed: exact, finite.h)'
set logscale xy
set format x '%g'
set format y '10^{%L}'
set xtics auto font ',10'
set ytics auto font ',10'
set xlabel 'width n of f'
set ylabel 'excess kurtosis of h(u)/sqrt(Λ^H(u,u))'
set autoscale y
set key bottom left font ',8' title 'width m of g' spacing 0.9
set bars small
set xrange [real(word(fw, 1)) / 1.3 : real(word(fw, A)) * 1.3]
plot for [j = 1:G] data.'/kurt_by_f.dat' using 1:(column(1 + j)):(column(1 + G + j)) \
         with yerrorlines linecolor palette frac frac(j, G) pointtype 7 pointsize 0.5 title word(gw, j), \
     for [j = 1:G] '' using 1:(column(1 + 2 * G + j)) with lines dashtype 2 linecolor palette frac frac(j, G) notitle

# ---- kurtosis against the width of g ----
set origin 0.68, 0.0
set title 'against the width m of g (dashed: exact)'
set xlabel 'width m of g'
set key title 'width n of f'
set xrange [real(word(gw, 1)) / 1.3 : real(word(gw, G)) * 1.3]
plot for [i = 1:A] data.'/kurt_by_g.dat' using 1:(column(1 + i)):(column(1 + A + i)) \
         with yerrorlines linecolor palette frac frac(i, A) pointtype 7 pointsize 0.5 title word(fw, i), \
     for [i = 1:A] '' using 1:(column(1 + 2 * A + i)) with lines dashtype 2 linecolor palette frac frac(i, A) notitle
unset multiplot
