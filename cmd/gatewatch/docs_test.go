package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The README's event and statistics tables are the catalog as the code
// has it; `make docs` rewrites them.
func TestReadmeCatalogIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN GENERATED: catalog -->\n", "<!-- END GENERATED: catalog -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatal("README lacks the generated catalog markers")
	}
	var want bytes.Buffer
	writeReference(&want)
	if got := string(readme[i+len(begin) : j]); strings.TrimSpace(got) != strings.TrimSpace(want.String()) {
		t.Fatal("README's event catalog or statistics are out of date: run make docs")
	}
}

// mibs/GATEWATCH-MIB.txt is what the code defines; `make docs` rewrites it.
func TestShippedMIBIsCurrent(t *testing.T) {
	shipped, err := os.ReadFile("../../mibs/GATEWATCH-MIB.txt")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if code := run([]string{"mib"}, &want, &bytes.Buffer{}); code != exitOK {
		t.Fatalf("gatewatch mib: exit %d", code)
	}
	if !bytes.Equal(shipped, want.Bytes()) {
		t.Fatal("mibs/GATEWATCH-MIB.txt is out of date: run make docs")
	}
}
