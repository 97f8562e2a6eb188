// Package plot draws an evaluation report's figures as PNG files with
// gonum/plot: the histogram of per-query AP, the CDF of the rank of the first
// version (log x axis), and MAP by clique size.
//
// Only queries with versions are plotted (the others have no AP or rank).
// Files are written under a temporary name and renamed.
package plot
