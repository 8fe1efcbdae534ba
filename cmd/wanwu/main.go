// Command wanwu classifies photos in Chinese and inspects, plans and benchmarks models.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := NewMain(os.Stdout, os.Stderr).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main is the program with its streams, so tests can run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
}

// NewMain returns a Main writing to the given streams.
func NewMain(stdout, stderr io.Writer) *Main { return &Main{Stdout: stdout, Stderr: stderr} }

// Exit statuses: 0 all good, 1 something failed (a file, a model), 2 the command line was wrong.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// partialError reports that some inputs failed after their errors were already printed (exit status 1).
type partialError struct{ failed, total int }

func (e partialError) Error() string { return fmt.Sprintf("%d of %d files failed", e.failed, e.total) }

// Run executes one command line and returns the exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var pe partialError
	if errors.As(err, &pe) {
		fmt.Fprintf(m.Stderr, "wanwu: %v\n", err)
		return exitFailure
	}
	// Flag and argument errors arrive as usageError (SetFlagErrorFunc, minArgs/exactArgs); only cobra's
	// unknown-command error is a plain one.
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(m.Stderr, "wanwu: %v\nRun 'wanwu help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(m.Stderr, "wanwu: %v\n", err)
	return exitFailure
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "wanwu",
		Short:         "wanwu (万物) names what is in a photo, in Chinese, on small machines",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		m.classifyCommand(),
		m.inspectCommand(),
		m.runCommand(),
		m.modelsCommand(),
		m.fetchCommand(),
		m.versionCommand(),
		m.serveCommand(),
		m.benchCommand(),
		m.planCommand(),
	)
	return root
}

// exactArgs and minArgs turn cobra's argument checks into usage errors.
func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs at least %d argument(s)", c.CommandPath(), n)
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", c.CommandPath(), n, len(args))
		}
		return nil
	}
}
