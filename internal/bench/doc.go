// Package bench holds the whole-system benchmarks behind `make bench`:
// Gatewatch against Postfix and against smtp-source straight into
// smtp-sink, measured in one run on the same machine, and the memory an
// idle SMTP connection costs. It has no code of its own outside tests.
package bench
