// Command wanwu classifies photos in Chinese and inspects, plans and benchmarks models.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
)

func main() { os.Exit(runMain()) }

// runMain runs the command line in os.Args and returns the exit status.
func runMain() int {
	setCrashTraceback()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return NewMain(os.Stdout, os.Stderr).Run(ctx, os.Args[1:])
}

// setCrashTraceback makes a crash the program cannot recover from (a runtime fatal error, a panic on a
// goroutine of its own) end the process by SIGABRT, after the usual report, instead of Go's default exit
// status 2, which is kept for usage errors.
func setCrashTraceback() { debug.SetTraceback("crash") }

// Main is the program with its streams, so tests can run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
	// classifyFile classifies one photo for classify (nil: Model.ClassifyFile); tests replace it.
	classifyFile func(m *wanwu.Model, ctx context.Context, path string, topK int) (wanwu.Result, error)
}

// NewMain returns a Main writing to the given streams.
func NewMain(stdout, stderr io.Writer) *Main { return &Main{Stdout: stdout, Stderr: stderr} }

// Exit statuses: 0 all good, 1 something failed (a file, a model), 2 the command line was wrong and
// nothing else, 3 an internal error (a bug) stopped the command, 130 an interrupted classify. A crash the
// program cannot catch ends it by SIGABRT (runMain), never with status 2.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInternal    = 3
	exitInterrupted = 130
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// partialError reports that some inputs failed after their errors were already printed (exit status 1).
type partialError struct{ failed, total int }

func (e partialError) Error() string { return fmt.Sprintf("%d of %d files failed", e.failed, e.total) }

// interruptedError reports a classify stopped by a signal after done of total files (exit status 130).
type interruptedError struct{ done, total int }

func (e interruptedError) Error() string {
	return fmt.Sprintf("interrupted after %d of %d files", e.done, e.total)
}

// Run executes one command line and returns the exit status.
func (m *Main) Run(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(m.Stderr, "wanwu: internal error (please report this bug): %v\n%s", r, debug.Stack())
			code = exitInternal
		}
	}()
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
	var ie interruptedError
	if errors.As(err, &ie) {
		fmt.Fprintf(m.Stderr, "wanwu: %v\n", err)
		return exitInterrupted
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

const rootLong = `wanwu (万物) names what is in a photo, in Chinese, on small machines.

Models, in every command: a bare catalog name (see wanwu models; e.g. mobilenet_v2_1.0_224_quant, or its
file name mobilenet_v2_1.0_224_quant.tflite) always means the catalog model, fetched into the cache and
verified by SHA-256, even when a file of that name is in the working directory. Anything else is a path
to an .onnx or .tflite file, which must be a regular file: write ./NAME for a local file named like a
catalog model.

Files: photos and models are opened only when they are regular files; label files, --only-file lists
and tensors are regular files of bounded size or streams cut at a limit. A named pipe is never waited
on and a device never read without end.

Exit status: 0 success; 1 a file or model failed (the others still ran); 2 usage error (bad flags or
arguments) and nothing else; 3 internal error (a bug: please report it); 130 classify interrupted by
SIGINT or SIGTERM. A crash that cannot be caught ends the process by SIGABRT, never with status 2.`

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "wanwu",
		Short:         "wanwu (万物) names what is in a photo, in Chinese, on small machines",
		Long:          rootLong,
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
		m.convertCommand(),
		m.labelsCommand(),
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
