// Command gatewatch is the Gatewatch mail security gateway: an SMTP relay
// that checks mail before it queues it and reports everything it does to
// logs, Prometheus, SNMP and CEF.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gatewatch/gatewatch/configs"
	"github.com/gatewatch/gatewatch/pipeline/notify"
	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, also listed by `gatewatch help`.
const (
	exitOK       = 0 // done
	exitFailure  = 1 // runtime failure: could not start, I/O error, gateway unreachable
	exitUsage    = 2 // bad command line
	exitConfig   = 3 // configuration invalid
	exitNotFound = 4 // the requested action was not performed (no such message, message busy)
)

const usage = `Usage: gatewatch [command] [flags]

Commands:
  serve          run the gateway (the default command)
  check-config   validate a configuration and report every problem with file, line and key
  stats          print the statistics as name=value lines (from the running gateway)
  queue          list | show ID | flush [ID] | hold ID | release ID | delete ID
  quarantine     list [filters] | show ID | release ID [--to ADDR] | delete ID
  cgp-helper     run as a CommuniGate Pro content filtering helper (protocol on stdin/stdout)
  update         [--from DIR|URL]: install the builtin scanner's signatures (atomically; a running gateway swaps them in)
  train          [--model FILE] [--spam PATH]... [--ham PATH]... [--forget]: teach the anti-spam classifier
  catalog        print the event catalog and the statistics (Markdown)
  mib            print GATEWATCH-MIB (SMIv2), as shipped in mibs/
  version        print the version
  help           print this text

Common flags:
  -config FILE   configuration file (YAML); without it the embedded default is used

Exit codes:
  0  done
  1  runtime failure (could not start, I/O error, gateway unreachable)
  2  bad command line
  3  configuration invalid
  4  requested action not performed (no such message, message being delivered)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(args, stderr)
	case "check-config":
		return cmdCheckConfig(args, stdout, stderr)
	case "stats":
		return cmdStats(args, stdout, stderr)
	case "queue":
		return cmdQueue(args, stdout, stderr)
	case "quarantine":
		return cmdQuarantine(args, stdout, stderr)
	case "cgp-helper":
		return cmdCGPHelper(args, os.Stdin, stdout, stderr)
	case "update":
		return cmdUpdate(args, stdout, stderr)
	case "train":
		return cmdTrain(args, stdout, stderr)
	case "catalog":
		writeReference(stdout)
		return exitOK
	case "mib":
		if err := mib.WriteSMI(stdout, telemetry.NewStats().Descs()); err != nil {
			fmt.Fprintf(stderr, "gatewatch mib: %v\n", err)
			return exitFailure
		}
		return exitOK
	case "version":
		fmt.Fprintf(stdout, "gatewatch %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gatewatch: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// parseFlags parses a command's flags; on error it prints the usage.
func parseFlags(name string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (*flag.FlagSet, int, bool) {
	fs := flag.NewFlagSet("gatewatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	define(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	return fs, 0, true
}

// configOnly parses the command line of a command whose only flag is
// -config and that takes no arguments.
func configOnly(name string, args []string, stderr io.Writer) (path string, code int, ok bool) {
	fs, code, ok := parseFlags(name, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", "", "configuration file (YAML)")
	})
	if !ok {
		return "", code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatewatch %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", exitUsage, false
	}
	return path, 0, true
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	path, code, ok := configOnly("check-config", args, stderr)
	if !ok {
		return code
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if err := notify.Check(l.cfg.Notify, configs.NotifyTemplates()); err != nil {
		fmt.Fprintf(stderr, "%s: notify.templates: %v\n", l.source, err)
		return exitConfig
	}
	fmt.Fprintf(stdout, "%s: configuration OK (hash %s)\n", l.source, l.cfg.Hash())
	return exitOK
}

// configCommand parses a command line of -config and the command's own
// flags (define), taking no arguments, and loads the configuration; code
// is the exit code when ok is false.
func configCommand(name, usage string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (cfg *Config, code int, ok bool) {
	var path string
	fs, code, ok := parseFlags(name, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&path, "config", "", "configuration file (YAML)")
		fs.Usage = func() { fmt.Fprint(stderr, usage) }
		if define != nil {
			define(fs)
		}
	})
	if !ok {
		return nil, code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatewatch %s: unexpected argument %q\n%s", name, fs.Arg(0), usage)
		return nil, exitUsage, false
	}
	l, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitConfig, false
	}
	return l.cfg, 0, true
}
