// Package runners owns the choice of Beam runner and its options: prism (the
// default, embedded in the process), direct, flink (a portable Beam Flink job
// server) and dataflow.
package runners
