// Command vindex indexes music catalogs for version identification.
//
// Each subcommand lives in a file of its own and registers itself in init;
// main only dispatches. Flags live only in this package: everything below it
// takes a validated Config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/runners"
)

// command is one vindex subcommand.
type command struct {
	name    string
	summary string
	// run parses args (the words after the subcommand's name) and runs it.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by the init functions of this package's files, before
// main runs, and only read after that.
var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("vindex: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error that was already explained to the user with usage text.
var errUsage = errors.New("usage")

func main() {
	// A Beam worker (Flink EXTERNAL/DOCKER, Dataflow) starts this binary with
	// --worker and the harness flags: hand it to Beam, which never returns.
	for _, a := range os.Args[1:] {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=") || strings.HasPrefix(a, "-worker=") {
			flag.Parse()
			beam.Init()
			return
		}
	}
	beam.Init()
	// The embedded runner logs every job step at INFO: keep the terminal for
	// vindex's own progress lines, warnings and errors.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vindex:", err)
		}
		os.Exit(exitCode(err))
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return &runners.UsageError{Err: fmt.Errorf("unknown command %q: run 'vindex help' for the list", args[0])}
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "vindex indexes music catalogs for version identification (MOVE / Re-MOVE).")
	fmt.Fprintln(w, "\nUsage: vindex <command> [flags]; 'vindex <command> --help' explains each.\n\nCommands:")
	defer fmt.Fprintf(w, "\n%s\n", runners.ExitCodesHelp)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a flag set for a subcommand whose --help prints the
// usage line, the help text, the command's own flags, then (for pipeline
// commands) Beam's runner flags in a section of their own, then the command's
// examples (examples.go).
func newFlagSet(name, usageLine, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vindex "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vindex %s %s\n\n%s\n\nFlags:\n", name, usageLine, strings.TrimSpace(help))
		own, runner := splitFlags(fs)
		own.PrintDefaults()
		if runner != nil {
			fmt.Fprintf(stderr, "\nRunner flags (Beam's own names):\n")
			runner.PrintDefaults()
		}
		if ex := examples[name]; ex != "" {
			fmt.Fprintf(stderr, "\nExamples:\n%s\n", strings.TrimRight(ex, "\n"))
		}
		fmt.Fprintf(stderr, "\n%s\n", runners.ExitCodesHelp)
	}
	return fs
}

// splitFlags copies fs's flags into the command's own and the runner flags
// (nil if the command takes none), for printing.
func splitFlags(fs *flag.FlagSet) (own, runner *flag.FlagSet) {
	own = flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	own.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		dst := own
		if isRunnerFlag(f.Name) {
			if runner == nil {
				runner = flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
				runner.SetOutput(fs.Output())
			}
			dst = runner
		}
		dst.Var(f.Value, f.Name, f.Usage)
	})
	return own, runner
}

// listFlag collects a list flag: repeating the flag and separating values
// with commas mean the same (--in a --in b ≡ --in a,b), for every list flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// parseFlags parses args and refuses positional arguments the command does not take.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &runners.UsageError{Err: fmt.Errorf("%s: unexpected argument %q (flags go before it, as --name value)", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// exitCode maps a command's error to the exit codes documented in
// runners.ExitCodesHelp: 0 help, 2 usage, 3 a threshold crossed by a
// successful run, 1 any other failure.
func exitCode(err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return runners.ExitOK
	case errors.Is(err, errUsage):
		return runners.ExitUsage
	}
	return runners.ExitCode(err)
}
