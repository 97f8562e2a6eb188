//go:build !unix

package main

import "runtime"

func cpuSeconds() float64 { return 0 }
func peakRSSMB() float64  { return -1 }
func runtimeCores() int   { return runtime.NumCPU() }
