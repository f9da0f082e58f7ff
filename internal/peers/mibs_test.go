package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBaseMIBs(t *testing.T) {
	dir := BaseMIBs(t)
	for _, m := range BaseMIBModules() {
		b, err := os.ReadFile(filepath.Join(dir, m+".mib"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), m+" DEFINITIONS ::= BEGIN") {
			t.Errorf("%s.mib does not define module %s", m, m)
		}
	}
	if again := BaseMIBs(t); again != dir {
		t.Errorf("second call gave %s, first %s", again, dir)
	}
}
