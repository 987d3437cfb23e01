# fig1b.gp: Figure 1(b): K^h(u,u') against theta for one width of f and several
# widths of g, over initializations (docs/theory.md §5.5: the mean follows
# the infinite-width curve for every width of g; the spread shrinks only for a
# wide g).  Left: the hyperkernel K^h with Theta^h; right: the NNGP h(u)h(u')
# with Lambda^H.  Bands: mean +- one standard deviation across initializations;
# solid coloured lines: the means; black: the infinite-width limit.
#
# Reads the columns that Makefile.plots writes with `hyperntk export`:
#   data/ntk.dat   theta analytic mean var --transpose             (rows: theta)
#   data/nngp.dat  theta nngp_analytic nngp_mean nngp_var --transpose
#   data/g_widths.dat  g_widths
#   data/meta.dat  "name value" lines: samples, f_width, f_depth, g_depth
#
# Usage: gnuplot -e "data='DIR'; out='fig1b.png'" plots/fig1b.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/fig1b'
if (!exists("out")) out = 'plots/fig1b.png'

pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 12in,5in font ',10' enhanced
} else {
    set terminal pngcairo size 1500,620 font ',11' enhanced
}
set output out

rows(file) = system(sprintf("awk '!/^#/ {printf \"%%s \", $1}' '%s'", file))
gw = rows(data.'/g_widths.dat')
G = words(gw)
meta(key) = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s/meta.dat'", key, data))

# Narrow g: warm and wide band; wide g: cool and narrow band.
color(j) = j == 1 ? '#d95f02' : j == 2 ? '#1b9e77' : j == 3 ? '#7570b3' : j == 4 ? '#e7298a' : '#66a61e'

set multiplot layout 1, 2 title sprintf("Figure 1(b): f of width %s (L = %s), g of depth H = %s; mean {/Symbol \261} one standard deviation over %s initializations", meta('f_width'), meta('f_depth'), meta('g_depth'), meta('samples')) font ',13'
set xlabel '{/Symbol q}'
set xrange [-pi/2:pi/2]
set xtics ('-{/Symbol p}/2' -pi/2, '-{/Symbol p}/4' -pi/4, '0' 0, '{/Symbol p}/4' pi/4, '{/Symbol p}/2' pi/2)
set grid
set key top left font ',10'
set style fill transparent solid 0.25 noborder

do for [panel = 1:2] {
    file = data.(panel == 1 ? '/ntk.dat' : '/nngp.dat')
    if (panel == 1) {
        set title "hyperkernel K^h(u,u'), u = (x, z), u' = (x, z'({/Symbol q}))"
        set ylabel "K^h(u,u')"
        limit = "{/Symbol Q}^h (infinite width)"
    } else {
        set title "NNGP h(u) h(u'): a product of two values of a GP, random at every width"
        set ylabel "h(u) h(u')"
        limit = "{/Symbol L}^H (infinite width)"
    }
    plot for [j = 1:G] file using 1:(column(2 + j) - sqrt(column(2 + G + j))):(column(2 + j) + sqrt(column(2 + G + j))) \
             with filledcurves fillcolor rgb color(j) title sprintf('width m of g = %s: mean {/Symbol \261} sd', word(gw, j)), \
         for [j = 1:G] file using 1:(column(2 + j)) with linespoints linecolor rgb color(j) linewidth 1.5 \
             pointtype 7 pointsize 0.45 notitle, \
         file using 1:2 with lines linecolor rgb 'black' linewidth 2 title limit
}
unset multiplot
