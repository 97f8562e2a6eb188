package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	register(command{name: "version", summary: "print the version of vindex and of its Beam SDK", run: runVersion})
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", "Prints the version of vindex and the versions of its main dependencies.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("version: no build information in this binary")
	}
	fmt.Fprintf(stdout, "vindex %s (%s)\n", bi.Main.Version, bi.GoVersion)
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/apache/beam/sdks/v2", "github.com/parquet-go/parquet-go", "gonum.org/v1/gonum":
			fmt.Fprintf(stdout, "  %s %s\n", d.Path, d.Version)
		}
	}
	return nil
}
