# fig1a.gp: Figure 1(a): the variance of the empirical hyperkernel K^h(u,u') over
# initializations, on the grid of widths n of f times widths m of g
# (docs/theory.md §5.3-§5.4: it tends to 0 only when both widths grow).
#   left:   heat map of log10 var over (n, m), each cell labelled with the variance
#   middle: var against n, one line per m; error bars: standard error of the variance;
#           dashed: the fit a/n + b/m + c/(nm), which levels off at the floor b/m
#   right:  var against m, one line per n; dashed: the same fit (floor a/n + ...)
#
# Reads the columns that Makefile.plots writes with `hyperntk export`:
#   data/var_matrix.dat  --matrix f_widths g_widths var (gnuplot nonuniform matrix)
#   data/var_by_f.dat    f_widths var var_stderr             (rows: n)
#   data/var_by_g.dat    g_widths var var_stderr --transpose (rows: m)
#   data/model.dat       /fit/model: a, b, c, one per line
#   data/meta.dat        "name value" lines: samples, f_depth, g_depth, analytic
#
# Usage: gnuplot -e "data='DIR'; out='fig1a.png'" plots/fig1a.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/fig1a'
if (!exists("out")) out = 'plots/fig1a.png'

pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 15in,5.2in font ',10' enhanced
} else {
    set terminal pngcairo size 1800,640 font ',11' enhanced
}
set output out

# Widths along each axis (first column of the exports) and the metadata.
rows(file) = system(sprintf("awk '!/^#/ {printf \"%%s \", $1}' '%s'", file))
fw = rows(data.'/var_by_f.dat')
gw = rows(data.'/var_by_g.dat')
A = words(fw)
G = words(gw)
meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))
samples = meta('samples')
L = meta('f_depth')
H = meta('g_depth')
coef = rows(data.'/model.dat')
ma = real(word(coef, 1))
mb = real(word(coef, 2))
mc = real(word(coef, 3))
model(n, m) = ma / n + mb / m + mc / (n * m)

# One colour per line, ordered from narrow (dark) to wide (bright).
set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
frac(i, count) = count > 1 ? (i - 1.0) / (count - 1.0) : 0.0

set multiplot title sprintf("Figure 1(a): variance of K^h(u,u') over %s initializations, f of depth L = %s, g of depth H = %s", samples, L, H) font ',13'

# ---- heat map ----
set size 0.36, 0.92
set origin 0.0, 0.0
set title "log_{10} var K^h(u,u')"
set xlabel 'width n of f'
set ylabel 'width m of g'
set xtics () font ',9'
set ytics () font ',9'
do for [i = 1:A] { set xtics add (word(fw, i) log10(real(word(fw, i)))) }
do for [j = 1:G] { set ytics add (word(gw, j) log10(real(word(gw, j)))) }
set cblabel 'variance'
set format cb '10^{%.0f}'
set cbtics 1
set autoscale fix
set tics out nomirror
unset key
# Labels: black on the bright half of the palette, white on the dark half.
stats data.'/var_matrix.dat' nonuniform matrix using (log10($3)) nooutput
mid = (STATS_min + STATS_max) / 2
plot data.'/var_matrix.dat' nonuniform matrix using (log10($2)):(log10($1)):(log10($3)) with image, \
     '' nonuniform matrix using (log10($2)):(log10($1)):(sprintf('%.2g', $3)):(log10($3) > mid ? 0x000000 : 0xffffff) \
         with labels font ',8' textcolor rgb variable
unset colorbox

# ---- variance against the width of f, one line per width of g ----
set size 0.32, 0.92
set origin 0.36, 0.0
set title 'against the width n of f (dashed: a/n + b/m + c/(nm))'
set logscale xy
set format x '%g'
set format y '10^{%L}'
set xtics auto font ',10'
set ytics auto font ',10'
set xlabel 'width n of f'
set ylabel "var K^h(u,u')"
set yrange [*:*]
set autoscale y
set key bottom left font ',8' title 'width m of g' spacing 0.9
set bars small
set samples 200
# x from a little below the narrowest to a little above the widest width
set xrange [real(word(fw, 1)) / 1.3 : real(word(fw, A)) * 1.3]
plot for [j = 1:G] data.'/var_by_f.dat' using 1:(column(1 + j)):(column(1 + G + j)) \
         with yerrorlines linecolor palette frac frac(j, G) pointtype 7 pointsize 0.5 title word(gw, j), \
     for [j = 1:G] '+' using 1:(model($1, real(word(gw, j)))) \
         with lines dashtype 2 linecolor palette frac frac(j, G) notitle

# ---- variance against the width of g, one line per width of f ----
set origin 0.68, 0.0
set title 'against the width m of g (dashed: the same fit)'
set xlabel 'width m of g'
set key title 'width n of f'
set xrange [real(word(gw, 1)) / 1.3 : real(word(gw, G)) * 1.3]
plot for [i = 1:A] data.'/var_by_g.dat' using 1:(column(1 + i)):(column(1 + A + i)) \
         with yerrorlines linecolor palette frac frac(i, A) pointtype 7 pointsize 0.5 title word(fw, i), \
     for [i = 1:A] '+' using 1:(model(real(word(fw, i)), $1)) \
         with lines dashtype 2 linecolor palette frac frac(i, A) notitle
unset multiplot
