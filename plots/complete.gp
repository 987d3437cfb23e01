# complete.gp: image completion and inpainting on Fashion-MNIST (docs/theory.md §9.1; README
# "Image completion").
#   left:  per task, the first test images of split 0 at the largest training size; columns:
#          context (dark blue: unobserved), truth, hyperkernel, trained hypernetwork, hyper-GP,
#          mean training image
#   right: interpolation between pairs of test images (Figure I of the author response): per
#          pair a hyperkernel strip (kernel rows interpolated) above a hypernetwork strip (f's
#          outputs interpolated)
# Reads what Makefile.plots writes with `hyperntk export`:
#   data/mosaic.dat   /figure/mosaic   (rows bottom-up)
#   data/interp.dat   /interp/mosaic
# Usage: gnuplot -e "data='DIR'; out='complete.png'" plots/complete.gp   (out *.pdf: a PDF)

if (!exists("data")) data = 'build/plotdata/results/complete'
if (!exists("out")) out = 'plots/complete.png'
pdf = strstrt(out, '.pdf') == strlen(out) - 3
if (pdf) {
    set terminal pdfcairo size 14in,7in font ',10' enhanced
} else {
    set terminal pngcairo size 1600,800 font ',11' enhanced
}
set output out
set multiplot layout 1,2
unset key
unset colorbox
set palette defined (-1 '#1f3a93', -0.5 '#1f3a93', -0.49 'black', 0 'black', 1 'white')
set cbrange [-1:1]
set size ratio -1
unset xtics
unset ytics
set border 0
set title "context | truth | hyperkernel | hypernetwork | hyper-GP | mean image\n(completion above, inpainting below)"
plot data.'/mosaic.dat' matrix with image
set title "interpolation: hyperkernel (upper) and hypernetwork (lower) strip per pair"
plot data.'/interp.dat' matrix with image
unset multiplot
