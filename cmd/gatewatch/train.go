package main

import (
	"fmt"
	"io"
)

// cmdTrain is written by the classifier work; until then it says so.
func cmdTrain(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "gatewatch train: not available yet")
	return exitFailure
}
